"""Tool definitions shared by fastmcp_v1.py (mcp 1.x) and mcpserver_v2.py (mcp 2.x).

Both SDKs derive the tool schemas from the Python signatures, so the two servers expose
the same tools; only the Context/Image classes and the server object differ, and they are
passed in by the caller. No `from __future__ import annotations` here: the SDKs resolve
annotations at registration time and the Context class is a closure variable.
"""

import argparse
import asyncio
import base64
import json
import os
from typing import Any, Literal, Optional

from pydantic import BaseModel, Field

# count_up(): this process's counter.
COUNTER = {"value": 0}

# rendezvous(): group -> [calls arrived, event set once all arrived]
RENDEZVOUS: dict = {}

# A valid 1x1 transparent PNG.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class Item(BaseModel):
    sku: str
    qty: int = Field(1, ge=1, description="Quantity")


class Address(BaseModel):
    street: str
    city: str
    zip: Optional[str] = None


class Node(BaseModel):
    name: str
    children: list["Node"] = []


Node.model_rebuild()


class NameForm(BaseModel):
    name: str = Field(description="Your name")


class WeatherModel(BaseModel):
    temperature: float
    conditions: str


def late_tool(x: int) -> int:
    """Registered at runtime by add_tool; returns x*2."""
    return x * 2


def register(server: Any, *, context_cls: Any, image_cls: Any, modern_notify: bool = False) -> None:
    """Register every fixture tool on a FastMCP (1.x) or MCPServer (2.x) instance."""

    Context = context_cls  # noqa: N806 - used as a type annotation below

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    drift = os.environ.get("FIXTURE_DRIFT", "v1")

    @server.tool(description=f"A tool whose definition changes between starts ({drift}).")
    def drifting(text: str) -> str:
        return f"{drift}:{text}"

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def create_order(
        customer: str,
        priority: Literal["low", "normal", "high"],
        items: list[Item],
        address: Address,
        tags: list[str] = [],
        note: Optional[str] = None,
        discount: float = 0.0,
        gift: bool = False,
    ) -> dict:
        """Create an order; returns exactly the arguments that arrived."""
        return {
            "customer": customer,
            "priority": priority,
            "items": [item.model_dump() for item in items],
            "address": address.model_dump(),
            "tags": tags,
            "note": note,
            "discount": discount,
            "gift": gift,
        }

    @server.tool()
    def tree_size(root: Node) -> int:
        """Count the nodes of a recursive tree."""

        def count(node: Node) -> int:
            return 1 + sum(count(child) for child in node.children)

        return count(root)

    @server.tool()
    def explode(message: str = "kaboom") -> str:
        """Always raises ValueError(message)."""
        raise ValueError(message)

    @server.tool()
    def pixel() -> image_cls:  # type: ignore[valid-type]
        """Return a 1x1 PNG image."""
        return image_cls(data=PIXEL_PNG, format="png")

    @server.tool()
    def big_image(kib: int) -> image_cls:  # type: ignore[valid-type]
        """Return an 'image' of kib KiB (byte i is i % 251), to test how large binaries are answered."""
        return image_cls(data=bytes(i % 251 for i in range(kib * 1024)), format="png")

    @server.tool()
    def json_text() -> str:
        """Return a string that happens to be JSON."""
        return '{"parsed": true, "n": 3}'

    @server.tool()
    async def slow(seconds: float = 1.0) -> str:
        """Sleep, then answer."""
        await asyncio.sleep(seconds)
        return f"slept {seconds}"

    @server.tool()
    def crash() -> str:
        """Kill the server process in the middle of the call (exit code 3)."""
        os._exit(3)

    @server.tool()
    def count_up() -> int:
        """Add one to this process's counter and return it (state that lives as long as the process)."""
        COUNTER["value"] += 1
        return COUNTER["value"]

    @server.tool()
    def env_var(name: str) -> str:
        """Return an environment variable of the server process, or <unset>."""
        return os.environ.get(name, "<unset>")

    @server.tool()
    def big(size: int) -> str:
        """Return a string of `size` 'x' characters."""
        return "x" * size

    @server.tool()
    def length(text: str) -> int:
        """Return len(text)."""
        return len(text)

    @server.tool()
    def structured(city: str) -> WeatherModel:
        """Weather with an output schema (structuredContent)."""
        return WeatherModel(temperature=21.5, conditions=f"sunny in {city}")

    @server.tool()
    async def whoami(delay_ms: int = 0, tag: str = "") -> str:
        """Sleep delay_ms milliseconds, then return the tag."""
        await asyncio.sleep(delay_ms / 1000)
        return tag

    @server.tool()
    async def rendezvous(group: str, count: int, tag: str = "", timeout: float = 300.0) -> str:
        """Wait until `count` calls of `group` are in flight together, then return the tag. Proves calls run at
        once (serialised calls never meet) without a clock; fails after `timeout` seconds if they never do."""
        arrived, met = RENDEZVOUS.setdefault(group, [0, asyncio.Event()])
        RENDEZVOUS[group][0] = arrived + 1
        if arrived + 1 >= count:
            met.set()
        try:
            await asyncio.wait_for(met.wait(), timeout)
        except asyncio.TimeoutError:
            raise ValueError(f"only {RENDEZVOUS[group][0]} of {count} calls of {group} met within {timeout} s")
        return tag

    @server.tool()
    async def add_tool(ctx: Context) -> str:  # type: ignore[valid-type]
        """Register late_tool(x) at runtime and send notifications/tools/list_changed."""
        names = {tool.name for tool in await server.list_tools()}
        if "late_tool" not in names:
            server.add_tool(late_tool)
        # Handshake-era clients (initialize): a plain notification on the session.
        await ctx.session.send_tool_list_changed()
        if modern_notify:
            # mcp 2.x, 2026-07-28 clients: change events travel on subscriptions/listen.
            await ctx.notify_tools_changed()
        return "added late_tool"

    @server.tool()
    async def add_prompt(name: str, ctx: Context) -> str:  # type: ignore[valid-type]
        """Register a prompt `name(topic)` at runtime and send notifications/prompts/list_changed."""

        def late_prompt(topic: str) -> str:
            return f"Talk about {topic}."

        server.prompt(name=name, description="Added at runtime")(late_prompt)
        await ctx.session.send_prompt_list_changed()
        return f"added {name}"

    @server.tool()
    async def cancellable_wait(seconds: float, marker: str) -> str:
        """Write 'started' to the marker file, sleep; if the call is cancelled (notifications/cancelled), write
        'cancelled' to it."""
        with open(marker, "w") as handle:
            handle.write("started")
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            with open(marker, "w") as handle:
                handle.write("cancelled")
            raise
        return "finished"

    @server.tool()
    async def marked_wait(seconds: float, marker: str) -> str:
        """Write the marker file as soon as the call arrives, then sleep (tests wait for the marker)."""
        with open(marker, "w") as handle:
            handle.write("started")
        await asyncio.sleep(seconds)
        return "finished"

    @server.tool()
    async def held_until_released(marker: str, release: str) -> str:
        """Write the marker file as soon as the call arrives, then wait (at most 60 s) until the release file exists."""
        with open(marker, "w") as handle:
            handle.write("started")
        for _ in range(3000):
            if os.path.exists(release):
                return "released"
            await asyncio.sleep(0.02)
        return "never released"

    @server.tool()
    async def progress_steps(steps: int, ctx: Context, delay_ms: int = 50) -> str:  # type: ignore[valid-type]
        """Report progress `steps` times (with a message), then answer 'done'."""
        for step in range(1, steps + 1):
            await asyncio.sleep(delay_ms / 1000)
            await ctx.report_progress(step, steps, f"step {step}")
        return "done"

    @server.tool(annotations={"readOnlyHint": True})
    def flaky_read(marker: str) -> str:
        """Read-only: the first call (no marker file yet) kills the server; later calls answer."""
        if not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(4)
        return "recovered"

    @server.tool()
    def flaky_write(marker: str) -> str:
        """Not safe to repeat: the first call (no marker file yet) kills the server mid-call."""
        if not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(4)
        return "written"

    @server.tool()
    async def log_something(message: str, ctx: Context) -> str:  # type: ignore[valid-type]
        """Emit an MCP log notification (notifications/message), then return 'logged'."""
        await ctx.info(message)
        return "logged"

    @server.tool()
    async def ask_name(ctx: Context) -> str:  # type: ignore[valid-type]
        """Ask the caller for a name (elicitation/create) and greet it; 'decline' or 'cancel' when not given."""
        result = await ctx.elicit(message="What is your name?", schema=NameForm)
        if result.action == "accept":
            return f"Hello, {result.data.name}"
        return result.action

    @server.tool()
    async def client_roots(ctx: Context) -> str:  # type: ignore[valid-type]
        """Ask the client for its roots (roots/list); the roots as JSON, or the error the client gave."""
        try:
            result = await ctx.session.list_roots()
        except Exception as error:  # noqa: BLE001 - the client's refusal is the answer
            return f"refused: {error}"
        return json.dumps([{"uri": str(root.uri), "name": root.name} for root in result.roots])

    @server.tool()
    async def ask_model(question: str, ctx: Context) -> str:  # type: ignore[valid-type]
        """Ask the client's model (sampling/createMessage); its answer, or the error the client gave."""
        from mcp import types

        try:
            result = await ctx.session.create_message(
                messages=[types.SamplingMessage(role="user", content=types.TextContent(type="text", text=question))],
                max_tokens=10,
            )
        except Exception as error:  # noqa: BLE001 - the client's refusal is the answer
            return f"refused: {error}"
        return str(result.content)


def register_features(server: Any) -> None:
    """Resources, a resource template and prompts, the same on both SDK lines (the REST routes' fixtures)."""

    @server.resource("fixture://notes/readme", name="readme", description="The notes' readme", mime_type="text/plain")
    def readme() -> str:
        return "hello from the notes"

    @server.resource("fixture://data/config.json", name="config", mime_type="application/json")
    def config() -> str:
        return '{"mode": "test", "level": 3}'

    @server.resource("fixture://images/pixel.png", name="pixel", mime_type="image/png")
    def pixel() -> bytes:
        return PIXEL_PNG

    @server.resource("fixture://users/{user_id}/profile", name="profile", mime_type="text/markdown")
    def profile(user_id: str) -> str:
        return f"# {user_id}\n\nA fixture user."

    @server.prompt(description="Greets someone by name")
    def greet(name: str, style: str = "plain") -> str:
        return f"Say hello to {name} in a {style} style."

    @server.prompt()
    def review(code: str) -> list:
        """Asks for a code review in two messages."""
        return [
            {"role": "user", "content": {"type": "text", "text": f"Review this code:\n{code}"}},
            {"role": "assistant", "content": {"type": "text", "text": "I will review it."}},
        ]


def advertise_tools_list_changed(lowlevel_server: Any, notification_options_cls: Any) -> None:
    """Make initialize answer `capabilities.tools.listChanged: true` (the SDKs default to false)."""
    original = lowlevel_server.get_capabilities

    def get_capabilities(notification_options: Any = None, *args: Any, **kwargs: Any) -> Any:
        options = notification_options or notification_options_cls()
        options.tools_changed = True
        return original(options, *args, **kwargs)

    lowlevel_server.get_capabilities = get_capabilities


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--transport", choices=["stdio", "sse", "streamable-http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--json-response", action="store_true", help="streamable-http: JSON instead of SSE bodies")
    parser.add_argument("--stateless", action="store_true", help="streamable-http: stateless mode")
    args = parser.parse_args()
    # Lets a test find this process (and check it is gone after the proxy stops).
    pid_file = os.environ.get("FIXTURE_PID_FILE")
    if pid_file:
        with open(pid_file, "w") as handle:
            handle.write(str(os.getpid()))
    return args
