"""A command-line MCP client on the official Python SDK, for the tests of swift-mcpo's own MCP endpoint.

The same file runs under both SDK lines, so the endpoint is checked against two independent client
implementations (their handshakes, cancellation and change-notification paths differ):

    .venv-mcp1/bin/python Tests/Fixtures/python/mcp_endpoint_client.py list http://127.0.0.1:8000/mcp
    .venv-mcp2/bin/python Tests/Fixtures/python/mcp_endpoint_client.py call http://127.0.0.1:8000/mcp --prefix local_
    .venv-mcp2/bin/python Tests/Fixtures/python/mcp_endpoint_client.py cancel URL --mode legacy --marker /tmp/m

    SCENARIO     list | call | progress | cancel | auth | list_changed | elicit
    --header     "Name: value", repeatable (e.g. an Authorization header)
    --mode       2.x only: auto (server/discover, falling back to initialize) or legacy (initialize only)
    --prefix     prepended to tool and prompt names (the aggregated endpoint names tools <server>_<tool>)
    --tool       the tool called instead of the scenario's own (progress_steps, cancellable_wait, add_tool,
                 ask_name); for `auth`, a tool to call with {} after listing
    --marker     the file cancellable_wait writes (cancel); a temporary file by default
    --timeout    seconds for the whole run (default 60)

Exactly one JSON object is printed, as the last line of stdout. Exit status 0 means the scenario ran,
whatever the server answered (its errors are in the JSON); 2 means this script failed or ran out of
time, with {"error": ...}. The tools called are those of Tests/Fixtures/python/fixture_tools.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import version as package_version
from typing import Any

import anyio

SDK = package_version("mcp").split(".")[0]

# Both lines have these; `mcp.types` mirrors the standalone `mcp_types` package on 2.x. The HTTP client
# factory is the one the SDK's transport would use by default (httpx on 1.x, httpx2 on 2.x).
import mcp.types as types  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared._httpx_utils import create_mcp_http_client  # noqa: E402

if SDK == "1":
    from mcp import ClientSession
    from mcp.client.sse import sse_client
    from mcp.shared.exceptions import McpError as MCPError
else:
    from mcp.client.client import Client
    from mcp.client.subscriptions import ToolsListChanged
    from mcp.shared.exceptions import MCPError
    from mcp_types.version import MODERN_PROTOCOL_VERSIONS

CLIENT_INFO = types.Implementation(name="mcp-endpoint-client", version="1")

# Bounds that only catch hangs (generous: the suite runs on two busy cores). A single request must not use up
# the whole run: a hung step is reported and the next one still runs.
STEP_TIMEOUT = 60.0
# How long the cancel and list_changed scenarios wait for their evidence to arrive (a call that was not cancelled
# leaves its marker at "started", however long it runs).
WAIT_TIMEOUT = 60.0

LIST_METHODS = {
    "tools": "list_tools",
    "prompts": "list_prompts",
    "resources": "list_resources",
    "resourceTemplates": "list_resource_templates",
}


def dump(model: Any) -> Any:
    """The wire (camelCase) form of an SDK model; both lines are pydantic 2 models with wire aliases."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def result_shape(result: Any) -> dict:
    data = dump(result)
    return {
        "isError": bool(data.get("isError", False)),
        "content": data.get("content", []),
        "structuredContent": data.get("structuredContent"),
    }


def leaf_exceptions(error: BaseException) -> list[BaseException]:
    """Every exception inside `error`: task groups wrap the real failure in (nested) exception groups, and
    the SDKs chain transport errors (httpx.HTTPStatusError) as causes or contexts of their own."""
    found: list[BaseException] = []
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        else:
            found.append(current)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return found


def describe(error: BaseException) -> str:
    """The first meaningful exception's text; a group's own str() only counts its sub-exceptions."""
    # asyncio's, not anyio.get_cancelled_exc_class(): this also runs after the event loop has gone.
    leaves = [e for e in leaf_exceptions(error) if not isinstance(e, asyncio.CancelledError)] or [error]
    first = leaves[0]
    text = str(first)
    return f"{type(first).__name__}: {text}" if text else type(first).__name__


def http_status_in(error: BaseException) -> int | None:
    """The status of an HTTP error response inside `error` (httpx's and httpx2's HTTPStatusError alike)."""
    for leaf in leaf_exceptions(error):
        status = getattr(getattr(leaf, "response", None), "status_code", None)
        if isinstance(status, int):
            return status
    return None


async def attempt(step: Callable[[], Awaitable[Any]], shape: Callable[[Any], Any]) -> Any:
    """Run one request: its shaped result, the JSON-RPC error it raised, or what else went wrong."""
    try:
        with anyio.fail_after(STEP_TIMEOUT):
            return shape(await step())
    except MCPError as error:
        return {"errorCode": error.error.code, "errorMessage": error.error.message}
    except TimeoutError:
        return {"error": f"no answer within {STEP_TIMEOUT:g} s"}
    except Exception as error:  # noqa: BLE001 - reported in the JSON, the scenario goes on
        return {"error": describe(error)}


def notification_method(message: Any) -> str | None:
    # 1.x hands the message handler RootModel wrappers (and request responders); 2.x the bare notification.
    return getattr(getattr(message, "root", message), "method", None)


class Connection:
    """The few operations the scenarios need, over either SDK line."""

    def __init__(self, sdk_object: Any, protocol_version: str | None, server_name: str | None) -> None:
        # 1.x: the ClientSession; 2.x: the Client (it holds the era negotiation and the input_required loop).
        self.sdk_object = sdk_object
        self.protocol_version = protocol_version
        self.server_name = server_name

    @property
    def modern(self) -> bool:
        """Whether the stateless 2026-07-28 era was adopted (2.x after a successful server/discover)."""
        return SDK == "2" and self.protocol_version in MODERN_PROTOCOL_VERSIONS

    async def list_all(self, kind: str) -> list[dict]:
        """Every page of a listing (kind: tools, prompts, resources, resourceTemplates), as wire dicts, which
        read the same on both lines (their models differ: nextCursor against next_cursor, ...)."""
        list_page = getattr(self.sdk_object, LIST_METHODS[kind])
        items: list[dict] = []
        cursor: str | None = None
        for _ in range(1000):  # a server whose cursors never end must not loop forever
            if SDK == "1":
                page = dump(await list_page(params=types.PaginatedRequestParams(cursor=cursor)))
            else:
                page = dump(await list_page(cursor=cursor))
            items.extend(page.get(kind, []))
            cursor = page.get("nextCursor")
            if not cursor:
                break
        return items

    async def call_tool(self, name: str, arguments: dict, progress: Any = None) -> Any:
        return await self.sdk_object.call_tool(name, arguments, progress_callback=progress)

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> Any:
        return await self.sdk_object.get_prompt(name, arguments)

    async def read_resource(self, uri: str) -> Any:
        return await self.sdk_object.read_resource(uri)

    def next_request_id(self) -> int:
        # 1.x numbers requests from BaseSession._request_id and exposes no other handle on the id of a
        # request in flight; the scenarios send one request at a time, so the next id is the call's.
        return self.sdk_object._request_id

    async def send_cancelled(self, request_id: int, reason: str) -> None:
        notification = types.CancelledNotification(
            params=types.CancelledNotificationParams(requestId=request_id, reason=reason)
        )
        await self.sdk_object.send_notification(types.ClientNotification(notification))


@asynccontextmanager
async def connect(
    opts: argparse.Namespace,
    http_statuses: list[int],
    *,
    message_handler: Any = None,
    elicitation_callback: Any = None,
) -> AsyncIterator[Connection]:
    # Our own HTTP client: the headers go on it, and a response hook records every status, because 2.x turns
    # an HTTP error into a JSON-RPC error ("Server returned an error response") and the status is lost.
    async def record_status(response: Any) -> None:
        http_statuses.append(response.status_code)

    http_client = create_mcp_http_client(headers=opts.headers)
    http_client.event_hooks = {"response": [record_status]}
    async with http_client:
        if SDK == "1":
            # `--transport sse`: the 2024-11-05 HTTP+SSE transport (GET the stream, POST where its first event says).
            transport = (
                sse_client(opts.url, headers=opts.headers)
                if opts.transport == "sse"
                else streamable_http_client(opts.url, http_client=http_client)
            )
            async with transport as streams:
                read, write = streams[0], streams[1]
                session_kwargs: dict[str, Any] = {"client_info": CLIENT_INFO}
                if message_handler is not None:
                    session_kwargs["message_handler"] = message_handler
                if elicitation_callback is not None:
                    session_kwargs["elicitation_callback"] = elicitation_callback
                async with ClientSession(read, write, **session_kwargs) as session:
                    try:
                        with anyio.fail_after(STEP_TIMEOUT):
                            initialized = await session.initialize()
                    except TimeoutError:
                        raise TimeoutError(f"no answer to initialize within {STEP_TIMEOUT:g} s") from None
                    yield Connection(session, initialized.protocolVersion, initialized.serverInfo.name)
        else:
            client = Client(
                streamable_http_client(opts.url, http_client=http_client),
                mode=opts.mode,
                # Bounds the discover/initialize exchange inside `async with` (where no fail_after can go:
                # the client's task groups stay open past it).
                read_timeout_seconds=STEP_TIMEOUT,
                # The tests look at what the endpoint answers, not at what a client-side cache remembers.
                cache=None,
                client_info=CLIENT_INFO,
                message_handler=message_handler,
                elicitation_callback=elicitation_callback,
            )
            async with client:
                info = client.server_info
                yield Connection(client, client.protocol_version, info.name if info else None)


def tool_name(opts: argparse.Namespace, default: str) -> str:
    return opts.prefix + (opts.tool or default)


async def wait_for_marker(path: str, text: str, stop: Callable[[], bool] = lambda: False) -> bool:
    """Whether the file comes to contain `text` within WAIT_TIMEOUT (polled: the server writes it, not us)."""
    with anyio.move_on_after(WAIT_TIMEOUT):
        while not stop():
            if text in (read_marker(path) or ""):
                return True
            await anyio.sleep(0.05)
    return text in (read_marker(path) or "")


def read_marker(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


# Scenarios: each fills `out` (already holding sdk/protocolVersion/serverName) on an open connection.


async def scenario_list(conn: Connection, opts: argparse.Namespace, out: dict) -> None:
    tools = await conn.list_all("tools")
    out["tools"] = [tool["name"] for tool in tools]
    out["schemas"] = {tool["name"]: tool.get("inputSchema") for tool in tools}
    for key, kind, field in (
        ("prompts", "prompts", "name"),
        ("resources", "resources", "uri"),
        ("templates", "resourceTemplates", "uriTemplate"),
    ):
        try:
            with anyio.fail_after(STEP_TIMEOUT):
                out[key] = [item[field] for item in await conn.list_all(kind)]
        except Exception as error:  # noqa: BLE001 - a server without prompts/resources is an answer too
            out[f"{key}Error"] = describe(error)


async def scenario_call(conn: Connection, opts: argparse.Namespace, out: dict) -> None:
    p = opts.prefix
    out["echo"] = await attempt(lambda: conn.call_tool(f"{p}echo", {"text": "hi"}), result_shape)
    out["invalid"] = await attempt(lambda: conn.call_tool(f"{p}add", {"a": "x", "b": 1}), result_shape)
    out["unknown"] = await attempt(lambda: conn.call_tool(f"{p}no_such_tool", {}), result_shape)
    out["explode"] = await attempt(lambda: conn.call_tool(f"{p}explode", {}), result_shape)

    # The prompt and the resource are taken from the listings, so the same code serves an upstream server
    # (names as given) and the aggregated endpoint (names prefixed).
    try:
        with anyio.fail_after(STEP_TIMEOUT):
            prompts = await conn.list_all("prompts")
        # The aggregated endpoint lists every server's prompts already prefixed: take one of the prefix's server.
        prompt = next(
            (item for item in prompts if item.get("arguments") and (not p or item["name"].startswith(p))),
            next((item for item in prompts if item.get("arguments")), None),
        )
        if prompt is None:
            out["prompt"] = {"error": "no prompt with arguments listed"}
        else:
            name = prompt["name"] if prompt["name"].startswith(p) else p + prompt["name"]
            arguments = {arg["name"]: "x" for arg in prompt["arguments"] if arg.get("required")}
            out["promptName"] = name
            out["prompt"] = await attempt(
                lambda: conn.get_prompt(name, arguments), lambda r: {"messages": dump(r)["messages"]}
            )
    except Exception as error:  # noqa: BLE001
        out["prompt"] = {"error": describe(error)}
    try:
        with anyio.fail_after(STEP_TIMEOUT):
            resources = await conn.list_all("resources")
        if not resources:
            out["read"] = {"error": "no resource listed"}
        else:
            uri = resources[0]["uri"]
            out["readUri"] = uri
            out["read"] = await attempt(lambda: conn.read_resource(uri), lambda r: {"contents": dump(r)["contents"]})
    except Exception as error:  # noqa: BLE001
        out["read"] = {"error": describe(error)}


async def scenario_progress(conn: Connection, opts: argparse.Namespace, out: dict) -> None:
    updates: list[dict] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append({"progress": progress, "total": total, "message": message})

    out["result"] = await attempt(
        lambda: conn.call_tool(tool_name(opts, "progress_steps"), {"steps": 3, "delay_ms": 20}, on_progress),
        result_shape,
    )
    out["progress"] = updates


async def scenario_cancel(conn: Connection, opts: argparse.Namespace, out: dict) -> None:
    if opts.marker is None:
        with tempfile.TemporaryDirectory(prefix="mcp-endpoint-client-") as directory:
            await cancel_with_marker(conn, opts, out, os.path.join(directory, "marker"))
    else:
        await cancel_with_marker(conn, opts, out, opts.marker)


async def cancel_with_marker(conn: Connection, opts: argparse.Namespace, out: dict, marker: str) -> None:
    # A marker left over from an earlier run must not pass for this call's.
    with open(marker, "w"):
        pass
    arguments = {"seconds": 30, "marker": marker}
    call_outcome: dict = {}
    request_id = conn.next_request_id() if SDK == "1" else None

    async def run_call() -> None:
        call_outcome["result"] = await attempt(
            lambda: conn.call_tool(tool_name(opts, "cancellable_wait"), arguments), result_shape
        )

    async with anyio.create_task_group() as group:
        group.start_soon(run_call)
        # A call that ends at once (an unknown tool, an error) would never write the marker.
        out["started"] = await wait_for_marker(marker, "started", stop=lambda: "result" in call_outcome)
        # Cancelling the awaiting task is how a caller abandons a request on either line. 2.x follows it
        # with its own cancellation: a notifications/cancelled POST in the handshake era, and in the
        # 2026-07-28 era the abort of the request's POST (a closed response stream is the cancellation).
        group.cancel_scope.cancel()
    if "result" in call_outcome:
        # The call ended before it could be cancelled: nothing to wait for.
        out["callResult"] = call_outcome["result"]
        out["cancelled"] = False
    else:
        if SDK == "1":
            # 1.x's BaseSession.send_request only stops waiting when cancelled; it never tells the server,
            # so the notification is sent here, with the id the abandoned request went out with.
            out["cancelVia"] = "notifications/cancelled (sent by this script)"
            await conn.send_cancelled(request_id, "cancelled by mcp_endpoint_client")
        elif conn.modern:
            out["cancelVia"] = "response stream closed (SDK, 2026-07-28)"
        else:
            out["cancelVia"] = "notifications/cancelled (SDK)"
        out["cancelled"] = await wait_for_marker(marker, "cancelled")
    out["markerText"] = read_marker(marker)
    out["after"] = await attempt(lambda: conn.call_tool(f"{opts.prefix}echo", {"text": "after"}), result_shape)


async def scenario_list_changed(conn: Connection, opts: argparse.Namespace, out: dict, notified: anyio.Event) -> None:
    """`notified` is set by the connection's message handler (the handshake-era channel)."""
    add_tool = lambda: conn.call_tool(tool_name(opts, "add_tool"), {})  # noqa: E731
    if conn.modern:
        # 2026-07-28 has no session to push notifications on: change events reach a client only on a
        # subscriptions/listen stream, which must be open before the change happens.
        out["channel"] = "subscriptions/listen"
        out["notified"] = False
        async with AsyncExitStack() as stack:
            try:
                # Entering waits for the server's acknowledgment (bounded by the client's read timeout).
                subscription = await stack.enter_async_context(conn.sdk_object.listen(tools_list_changed=True))
            except Exception as error:  # noqa: BLE001
                out["listenError"] = describe(error)
                out["result"] = await attempt(add_tool, result_shape)
            else:
                out["honored"] = dump(subscription.honored)
                out["result"] = await attempt(add_tool, result_shape)
                try:
                    with anyio.move_on_after(WAIT_TIMEOUT):
                        async for event in subscription:
                            if isinstance(event, ToolsListChanged):
                                out["notified"] = True
                                break
                except Exception as error:  # noqa: BLE001 - e.g. SubscriptionLost
                    out["listenError"] = describe(error)
        out["messageHandlerNotified"] = notified.is_set()
    else:
        out["channel"] = "message handler"
        out["result"] = await attempt(add_tool, result_shape)
        with anyio.move_on_after(WAIT_TIMEOUT):
            await notified.wait()
        out["notified"] = notified.is_set()
    try:
        with anyio.fail_after(STEP_TIMEOUT):
            out["toolsAfter"] = [tool["name"] for tool in await conn.list_all("tools")]
    except Exception as error:  # noqa: BLE001
        out["toolsAfterError"] = describe(error)


async def scenario_elicit(conn: Connection, opts: argparse.Namespace, out: dict, asked: list) -> None:
    out["result"] = await attempt(lambda: conn.call_tool(tool_name(opts, "ask_name"), {}), result_shape)
    out["asked"] = asked[0] if asked else None


async def scenario_auth(opts: argparse.Namespace, out: dict) -> None:
    statuses: list[int] = []
    try:
        async with connect(opts, statuses) as conn:
            out.update(protocolVersion=conn.protocol_version, serverName=conn.server_name)
            with anyio.fail_after(STEP_TIMEOUT):
                tools = await conn.list_all("tools")
            out["ok"] = True
            out["toolCount"] = len(tools)
            if opts.tool:
                out["call"] = await attempt(lambda: conn.call_tool(tool_name(opts, opts.tool), {}), result_shape)
    except Exception as error:  # noqa: BLE001 - a refused connection is this scenario's answer
        out["ok"] = False
        status = http_status_in(error)
        if status is None:
            # 2.x keeps no status in its errors; the response hook saw it. The last refusal is the one
            # that failed the connection: 2.x auto mode's server/discover probe may be refused (400) by a
            # handshake-era server before the initialize fallback meets the real answer.
            status = next((s for s in reversed(statuses) if s >= 400), None)
        out["status"] = status
        out["errorText"] = describe(error)
    out["httpStatuses"] = statuses


async def run(opts: argparse.Namespace, out: dict) -> None:
    if opts.scenario == "auth":
        await scenario_auth(opts, out)
        return

    notified = anyio.Event()
    asked: list = []

    async def message_handler(message: Any) -> None:
        if notification_method(message) == "notifications/tools/list_changed":
            notified.set()

    async def elicitation_callback(context: Any, params: Any) -> Any:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"name": "Ann"})

    statuses: list[int] = []
    async with connect(
        opts, statuses, message_handler=message_handler, elicitation_callback=elicitation_callback
    ) as conn:
        out.update(protocolVersion=conn.protocol_version, serverName=conn.server_name)
        if opts.scenario == "list_changed":
            await scenario_list_changed(conn, opts, out, notified)
        elif opts.scenario == "elicit":
            await scenario_elicit(conn, opts, out, asked)
        else:
            scenario = {
                "list": scenario_list,
                "call": scenario_call,
                "progress": scenario_progress,
                "cancel": scenario_cancel,
            }[opts.scenario]
            await scenario(conn, opts, out)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "scenario", choices=["list", "call", "progress", "cancel", "auth", "list_changed", "elicit"]
    )
    parser.add_argument("url")
    parser.add_argument("--header", action="append", default=[], metavar="'Name: value'")
    parser.add_argument("--mode", choices=["auto", "legacy"], default="auto")
    parser.add_argument("--transport", choices=["streamable-http", "sse"], default="streamable-http")
    parser.add_argument("--tool")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--marker")
    parser.add_argument("--timeout", type=float, default=150.0)
    opts = parser.parse_args()
    opts.headers = {}
    for header in opts.header:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            parser.error(f"--header wants 'Name: value', got {header!r}")
        opts.headers[name.strip()] = value.strip()
    return opts


def emit(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def main() -> int:
    opts = parse_args()
    out: dict = {"sdk": SDK, "protocolVersion": None, "serverName": None}

    # Last resort if cancellation itself cannot get through (a blocking call, a shielded wait): the test
    # gets its JSON line and exit status instead of a hung process.
    def watchdog() -> None:
        emit({"error": f"still running {opts.timeout + 10:g} s after start; killed", "partial": out})
        os._exit(2)

    timer = threading.Timer(opts.timeout + 10, watchdog)
    timer.daemon = True
    timer.start()

    async def bounded() -> bool:
        with anyio.move_on_after(opts.timeout) as scope:
            await run(opts, out)
        return scope.cancelled_caught

    try:
        timed_out = anyio.run(bounded)
    except Exception as error:  # noqa: BLE001 - the test wants JSON, not just a traceback
        timer.cancel()
        traceback.print_exc(file=sys.stderr)
        emit({"error": describe(error), "partial": out})
        return 2
    timer.cancel()
    if timed_out:
        emit({"error": f"scenario did not finish within {opts.timeout:g} s", "partial": out})
        return 2
    emit(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
