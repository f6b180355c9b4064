"""Fixture MCP server on the mcp 2.x SDK (MCPServer, the successor of FastMCP).

    .venv-mcp2/bin/python Tests/Fixtures/python/mcpserver_v2.py                 # stdio (default)
    .venv-mcp2/bin/python Tests/Fixtures/python/mcpserver_v2.py --transport streamable-http --port 18201
    .venv-mcp2/bin/python Tests/Fixtures/python/mcpserver_v2.py --transport sse --port 18202   # GET /sse
"""

import warnings

import fixture_tools
from mcp.server.lowlevel.server import NotificationOptions
from typing import Annotated

from mcp.server.mcpserver import Context, Elicit, ElicitationResult, Image, ListRoots, MCPServer, Resolve
from mcp_types import ListRootsResult

# ctx.info() (MCP logging) is deprecated as of protocol 2026-07-28; the fixture still uses it on purpose.
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", message=".*deprecated.*")

args = fixture_tools.parse_args("fixture-mcpserver (mcp 2.x)")

mcp = MCPServer(
    "fixture-mcpserver",
    instructions="Fixture server for swift-mcpo tests (mcp 2.x MCPServer).",
    log_level="WARNING",
)
fixture_tools.register(mcp, context_cls=Context, image_cls=Image, modern_notify=True)
fixture_tools.register_features(mcp)


def _ask_roots() -> ListRoots:
    return ListRoots()


@mcp.tool()
def resolved_roots(roots: Annotated[ListRootsResult, Resolve(_ask_roots)]) -> str:
    """The client's roots through the SDK's resolver: a roots/list request mid-call up to 2025-11-25, an
    input_required result and a retry with 2026-07-28."""
    return fixture_tools.json.dumps([{"uri": str(root.uri), "name": root.name} for root in roots.roots])



def _ask_name() -> Elicit[fixture_tools.NameForm]:
    return Elicit("What is your name?", fixture_tools.NameForm)


@mcp.tool()
def resolved_name(
    answer: Annotated[ElicitationResult[fixture_tools.NameForm], Resolve(_ask_name)],
) -> str:
    """Ask the caller for a name through the SDK's resolver (an input_required result with 2026-07-28)."""
    if answer.action == "accept":
        return f"Hello, {answer.data.name}"
    return answer.action


fixture_tools.advertise_tools_list_changed(mcp._lowlevel_server, NotificationOptions)

if __name__ == "__main__":
    if args.transport == "stdio":
        mcp.run("stdio")
    elif args.transport == "sse":
        mcp.run("sse", host=args.host, port=args.port)
    else:
        mcp.run(
            "streamable-http",
            host=args.host,
            port=args.port,
            json_response=args.json_response,
            stateless_http=args.stateless,
        )
