"""Fixture MCP server on the mcp 1.x SDK (FastMCP).

    .venv-mcp1/bin/python Tests/Fixtures/python/fastmcp_v1.py                  # stdio (default)
    .venv-mcp1/bin/python Tests/Fixtures/python/fastmcp_v1.py --transport streamable-http --port 18101
    .venv-mcp1/bin/python Tests/Fixtures/python/fastmcp_v1.py --transport sse --port 18102   # GET /sse
"""

import fixture_tools
from mcp.server.fastmcp import Context, FastMCP, Image
from mcp.server.lowlevel.server import NotificationOptions

args = fixture_tools.parse_args("fixture-fastmcp (mcp 1.x)")

mcp = FastMCP(
    "fixture-fastmcp",
    instructions="Fixture server for swift-mcpo tests (mcp 1.x FastMCP).",
    host=args.host,
    port=args.port,
    json_response=args.json_response,
    stateless_http=args.stateless,
    log_level="WARNING",
)
fixture_tools.register(mcp, context_cls=Context, image_cls=Image)
fixture_tools.register_features(mcp)
fixture_tools.advertise_tools_list_changed(mcp._mcp_server, NotificationOptions)

if __name__ == "__main__":
    mcp.run(args.transport)
