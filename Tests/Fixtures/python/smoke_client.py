"""Wire-level smoke test for the fixture servers (stdlib only; no SDK needed).

Spawns a fixture server over stdio, speaks newline-delimited JSON-RPC to it (like swift-mcpo does),
lists every tool (following nextCursor) and calls every tool, checking the answers.

    python3 Tests/Fixtures/python/smoke_client.py .venv-mcp1/bin/python Tests/Fixtures/python/fastmcp_v1.py
    python3 Tests/Fixtures/python/smoke_client.py .venv-mcp2/bin/python Tests/Fixtures/python/mcpserver_v2.py
    python3 Tests/Fixtures/python/smoke_client.py .venv-mcp1/bin/python Tests/Fixtures/python/lowlevel_v1.py

Exit status 0 when every check passes; -v prints every response.
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time
from typing import Any

VERBOSE = "-v" in sys.argv
ARGV = [a for a in sys.argv[1:] if a != "-v"]


class Server:
    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.next_id = 0
        self.responses: dict[Any, "queue.Queue[dict]"] = {}
        self.notifications: "queue.Queue[dict]" = queue.Queue()
        self.lock = threading.Lock()
        self.stderr: list[str] = []
        global LAST_SERVER
        LAST_SERVER = self
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            msg = json.loads(line)
            if "id" in msg and ("result" in msg or "error" in msg):
                self._box(msg["id"]).put(msg)
            elif "id" in msg:  # server -> client request (ping etc.)
                self.send({"jsonrpc": "2.0", "id": msg["id"], "result": {}})
            else:
                self.notifications.put(msg)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.decode(errors="replace"))

    def _box(self, rid: Any) -> "queue.Queue[dict]":
        with self.lock:
            return self.responses.setdefault(rid, queue.Queue())

    def send(self, msg: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()

    def request(self, method: str, params: dict | None = None, timeout: float = 20) -> dict:
        with self.lock:
            self.next_id += 1
            rid = self.next_id
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        reply = self._box(rid).get(timeout=timeout)
        if VERBOSE:
            print(f"<- {method} {json.dumps(params)[:200] if params else ''}\n   {json.dumps(reply)[:1500]}")
        return reply

    def call(self, name: str, arguments: dict | None = None, timeout: float = 20) -> dict:
        return self.request("tools/call", {"name": name, "arguments": arguments or {}}, timeout)

    def initialize(self) -> dict:
        reply = self.request(
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "smoke-client", "version": "0"},
            },
        )
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return reply["result"]

    def list_tools(self) -> tuple[list[dict], int]:
        tools: list[dict] = []
        pages = 0
        cursor = None
        while True:
            reply = self.request("tools/list", {"cursor": cursor} if cursor else {})
            pages += 1
            tools += reply["result"]["tools"]
            cursor = reply["result"].get("nextCursor")
            if not cursor:
                return tools, pages

    def wait_notification(self, method: str, timeout: float = 5) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            msg = self.notifications.get(timeout=max(0.01, deadline - time.monotonic()))
            if msg.get("method") == method:
                return msg

    def close(self) -> int:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


FAILURES: list[str] = []
LAST_SERVER: "Server | None" = None


def check(label: str, cond: bool, detail: Any = "") -> None:
    print(f"  {'ok  ' if cond else 'FAIL'} {label}" + ("" if cond else f": {json.dumps(detail)[:800]}"))
    if not cond:
        FAILURES.append(label)


def text_of(reply: dict) -> str | None:
    content = reply.get("result", {}).get("content") or []
    return content[0].get("text") if content and content[0].get("type") == "text" else None


def is_error(reply: dict) -> bool:
    return bool(reply.get("result", {}).get("isError"))


def smoke_high_level(argv: list[str]) -> None:
    env = dict(os.environ, FIXTURE_ENV="hello-env")
    srv = Server(argv, env)
    init = srv.initialize()
    check("serverInfo.name", init["serverInfo"]["name"] in ("fixture-fastmcp", "fixture-mcpserver"), init)
    check("instructions", bool(init.get("instructions")), init)
    check("tools.listChanged advertised", init["capabilities"].get("tools", {}).get("listChanged") is True, init)
    tools, _ = srv.list_tools()
    names = [t["name"] for t in tools]
    expected = [
        "echo", "drifting", "add", "create_order", "tree_size", "explode", "pixel", "json_text", "slow", "crash", "env_var",
        "big", "length", "structured", "whoami", "rendezvous", "add_tool", "cancellable_wait", "marked_wait", "progress_steps", "flaky_read",
        "flaky_write", "log_something", "big_image", "count_up", "held_until_released", "client_roots", "ask_model",
        "add_prompt", "ask_name",
    ]
    if init["serverInfo"]["name"] == "fixture-mcpserver":
        expected += ["resolved_roots", "resolved_name"]  # the 2.x SDK's resolvers only
    check("tool names", sorted(names) == sorted(expected), names)
    by_name = {t["name"]: t for t in tools}
    check("create_order has $defs Item/Address", {"Item", "Address"} <= set(by_name["create_order"]["inputSchema"].get("$defs", {})),
          by_name["create_order"]["inputSchema"])
    check("tree_size has recursive $defs Node", "Node" in by_name["tree_size"]["inputSchema"].get("$defs", {}),
          by_name["tree_size"]["inputSchema"])
    check("structured has outputSchema", "outputSchema" in by_name["structured"], by_name["structured"])

    check("echo", text_of(srv.call("echo", {"text": "héllo"})) == "héllo")
    r = srv.call("add", {"a": 2, "b": 40})
    check("add", text_of(r) == "42", r)
    order = {
        "customer": "ACME", "priority": "high", "items": [{"sku": "A1", "qty": 2}, {"sku": "B2"}],
        "address": {"street": "1 Main St", "city": "Springfield"}, "tags": ["x"], "gift": True,
    }
    r = srv.call("create_order", order)
    got = json.loads(text_of(r) or "null")
    check("create_order echoes args", got == {
        **order, "items": [{"sku": "A1", "qty": 2}, {"sku": "B2", "qty": 1}],
        "address": {"street": "1 Main St", "city": "Springfield", "zip": None}, "note": None, "discount": 0.0,
    }, r)
    r = srv.call("create_order", {**order, "items": [{"sku": "A1", "qty": 0}]})
    check("create_order qty>=1 enforced (isError)", is_error(r), r)
    tree = {"name": "r", "children": [{"name": "a", "children": [{"name": "a1"}]}, {"name": "b"}]}
    r = srv.call("tree_size", {"root": tree})
    check("tree_size", text_of(r) == "4", r)
    r = srv.call("explode", {"message": "boom!"})
    # mcp 1.x: "Error executing tool explode: boom!"; mcp 2.x hides the text of unexpected exceptions.
    expected_text = "Error executing tool explode" + (": boom!" if init["serverInfo"]["name"] == "fixture-fastmcp" else "")
    check("explode -> isError", is_error(r) and text_of(r) == expected_text, r)
    r = srv.call("pixel")
    c = r["result"]["content"][0]
    check("pixel image/png", c["type"] == "image" and c["mimeType"] == "image/png" and len(c["data"]) > 20, r)
    check("json_text", text_of(srv.call("json_text")) == '{"parsed": true, "n": 3}')
    t0 = time.monotonic()
    r = srv.call("slow", {"seconds": 0.3})
    check("slow", text_of(r) == "slept 0.3" and time.monotonic() - t0 >= 0.3, r)
    check("env_var set", text_of(srv.call("env_var", {"name": "FIXTURE_ENV"})) == "hello-env")
    check("env_var unset", text_of(srv.call("env_var", {"name": "NOPE_NOT_SET"})) == "<unset>")
    r = srv.call("big", {"size": 1_000_000})
    check("big 1 MB", len(text_of(r) or "") == 1_000_000)
    r = srv.call("length", {"text": "y" * 1_000_000})
    check("length 1 MB", text_of(r) == "1000000", r)
    r = srv.call("structured", {"city": "Paris"})
    check("structuredContent", r["result"].get("structuredContent") == {"temperature": 21.5, "conditions": "sunny in Paris"}, r)

    # 50 concurrent whoami calls with distinct answers.
    results: dict[int, str | None] = {}

    def one(i: int) -> None:
        results[i] = text_of(srv.call("whoami", {"delay_ms": 300, "tag": f"t{i}"}))

    t0 = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - t0
    check(f"50 concurrent whoami ({elapsed:.2f}s)", all(results[i] == f"t{i}" for i in range(50)) and elapsed < 5, results)

    r = srv.call("log_something", {"message": "hi there"})
    check("log_something result", text_of(r) == "logged", r)
    try:
        note = srv.wait_notification("notifications/message")
        check("log notification", note["params"]["data"] == "hi there" and note["params"]["level"] == "info", note)
    except queue.Empty:
        check("log notification", False, "none received")

    r = srv.call("add_tool")
    check("add_tool", text_of(r) == "added late_tool", r)
    try:
        srv.wait_notification("notifications/tools/list_changed")
        check("tools/list_changed notification", True)
    except queue.Empty:
        check("tools/list_changed notification", False, "none received")
    names2 = [t["name"] for t in srv.list_tools()[0]]
    check("late_tool listed", "late_tool" in names2, names2)
    check("late_tool call", text_of(srv.call("late_tool", {"x": 21})) == "42")

    srv.send({"jsonrpc": "2.0", "id": "crash-1", "method": "tools/call", "params": {"name": "crash", "arguments": {}}})
    code = srv.proc.wait(timeout=10)
    check("crash exit code 3, no reply", code == 3 and srv._box("crash-1").empty(), code)


def smoke_lowlevel(argv: list[str]) -> None:
    srv = Server(argv)
    init = srv.initialize()
    check("serverInfo.name", init["serverInfo"]["name"] == "fixture-lowlevel", init)
    tools, pages = srv.list_tools()
    names = [t["name"] for t in tools]
    check(f"paged tools/list ({pages} pages of <=3)", pages == (len(tools) + 2) // 3 and pages >= 2, names)
    for code, with_data in ((-32602, True), (-32001, False)):
        r = srv.call("rpc_error", {"code": code, "message": "bad x", "with_data": with_data})
        err = r.get("error", {})
        check(f"rpc_error {code} data={with_data}", err.get("code") == code and err.get("message") == "bad x"
              and (err.get("data") == {"field": "x"} if with_data else "data" not in err), r)
    r = srv.call("mixed_content")
    types_ = [c["type"] for c in r["result"]["content"]]
    check("mixed_content types", types_ == ["text", "image", "resource", "resource", "resource_link", "audio"], r)
    r = srv.call("is_error_text")
    check("is_error_text", is_error(r) and text_of(r) == "the tool failed: bad input", r)
    r = srv.call("structured_only")
    check("structured_only", r["result"]["content"] == [] and r["result"]["structuredContent"] == {"a": 1}, r)
    args = {"from": {"email": "a@example.com"}, "to": {"email": "b@example.com"}}
    r = srv.call("zod_refs", args)
    check("zod_refs echoes args", json.loads(text_of(r) or "null") == args, r)
    zod = next(t for t in tools if t["name"] == "zod_refs")
    check("zod_refs schema uses #/properties ref", zod["inputSchema"]["properties"]["to"] == {"$ref": "#/properties/from"}, zod)
    r = srv.call("echo_args", {"anything": [1, {"b": None}]})
    check("echo_args", json.loads(text_of(r) or "null") == {"anything": [1, {"b": None}]}, r)
    r = srv.call("empty_content")
    check("empty_content", r["result"]["content"] == [] and "structuredContent" not in r["result"], r)
    check("clean exit on stdin close", srv.close() == 0)


def main() -> int:
    if len(ARGV) < 2:
        print(__doc__)
        return 2
    print(f"smoke: {' '.join(ARGV)}")
    try:
        if ARGV[-1].endswith("lowlevel_v1.py"):
            smoke_lowlevel(ARGV)
        else:
            smoke_high_level(ARGV)
    except Exception as exc:  # noqa: BLE001
        FAILURES.append(f"exception: {exc!r}")
        print(f"  FAIL exception {exc!r}")
    if FAILURES:
        if LAST_SERVER is not None and LAST_SERVER.stderr:
            print("server stderr (tail):\n" + "".join(LAST_SERVER.stderr[-40:]))
        print(f"FAILED {len(FAILURES)}: {FAILURES}")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
