"""A small MCP server on the Python standard library only, for transport behaviours the SDK servers
cannot be made to show on demand: a session the server forgets, a response stream cut mid-way (with and
without SSE ids, so with and without Last-Event-ID resumption), redirects, endpoints that are not MCP,
legacy SSE endpoints on another origin, and a log of every request it saw (headers included).

    python3 Tests/Fixtures/python/http_behaviors.py [--port N] [--tls-cert C --tls-key K]

Paths:
    /mcp             stateful streamable HTTP, SSE answers (GET stream, Last-Event-ID, DELETE)
    /mcp-json        the same server answering with application/json
    /t/<tenant>/mcp-json  the same as /mcp-json, for any tenant name (the log keeps the full path)
    /mcp-json-close  the same, each answer with `Connection: close`
    /mcp-json-hangup the same, closing the connection after each answer without saying so
    /redirect        307 to /mcp
    /html            200 text/html for anything (not an MCP server)
    /legacy/sse      legacy HTTP+SSE (endpoint event with a relative URL)
    /foreign/sse     legacy SSE whose endpoint event points to another origin
    /_log            GET: every request seen so far, as JSON (not itself logged)

Tools: echo(text), headers() (the request headers as a JSON text), expire() (answers, then forgets the
session), cut() (SSE id + retry, then the connection drops; the answer comes on GET with Last-Event-ID),
drop() (the connection drops with no SSE id: the answer is lost), slow(seconds).
"""

import argparse
import json
import queue
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
LOG: list = []
SESSIONS: dict = {}  # session id -> {"alive": bool, "outbox": Queue}
EXPIRED: set = set()
RESUMABLE: dict = {}  # last event id -> JSON-RPC message to send on resumption
LEGACY: dict = {}  # legacy SSE session id -> Queue of messages
# Per-tenant upstream URLs that all reach one server, so tests can tell the tenants apart in the log.
TENANT_PATH = re.compile(r"^/t/[^/?]+(/mcp-json(?:\?.*)?)$")

TOOLS = [
    {"name": "echo", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}},
    {"name": "headers", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "expire", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "cut", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "drop", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "slow", "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}}},
]


def text_result(text):
    return {"content": [{"type": "text", "text": text}], "isError": False}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    # ---- plumbing

    @property
    def route(self):
        """The path the request is served as; `self.path` (what the log records) stays as sent."""
        match = TENANT_PATH.match(self.path)
        return match.group(1) if match else self.path

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def record(self, body):
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
            "peer": self.client_address[1],
        }
        with LOCK:
            LOG.append(entry)

    def end_headers(self):
        if "-close" in self.route:
            self.send_header("Connection", "close")
        if "-hangup" in self.route:
            self.close_connection = True
        super().end_headers()

    def send_json(self, status, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_plain(self, status, text, content_type="text/plain"):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self, extra=None):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def chunk(self, text):
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def event(self, message, event_id=None):
        head = f"id: {event_id}\n" if event_id else ""
        self.chunk(f"{head}event: message\ndata: {json.dumps(message)}\n\n")

    def drop_connection(self):
        """Ends the TCP connection without finishing the chunked body: a broken stream."""
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    # ---- routes

    def do_GET(self):
        if self.path == "/_log":
            with LOCK:
                data = list(LOG)
            self.send_json(200, data)
            return
        self.record(None)
        if self.path.startswith("/html"):
            self.send_plain(200, "<html><body>not MCP</body></html>", "text/html")
        elif self.path.startswith("/redirect"):
            self.redirect()
        elif self.path.startswith("/legacy/sse"):
            self.legacy_stream("/legacy/messages")
        elif self.path.startswith("/foreign/sse"):
            self.legacy_stream("http://192.0.2.1:9/messages")
        elif self.route.startswith("/mcp"):
            self.get_stream()
        else:
            self.send_plain(404, "not found")

    def do_DELETE(self):
        self.record(None)
        session = self.headers.get("Mcp-Session-Id")
        with LOCK:
            state = SESSIONS.pop(session, None)
        if state:
            state["alive"] = False
        self.send_plain(200 if state else 404, "")

    def do_POST(self):
        body = self.read_body()
        self.record(body)
        if self.path.startswith("/html"):
            self.send_plain(200, "<html><body>not MCP</body></html>", "text/html")
        elif self.path.startswith("/redirect"):
            self.redirect()
        elif self.path.startswith("/legacy/messages"):
            self.legacy_post(body)
        elif self.route.startswith("/mcp"):
            self.post_mcp(body, json_mode=self.route.startswith("/mcp-json"))
        else:
            self.send_plain(404, "not found")

    def redirect(self):
        self.send_response(307)
        self.send_header("Location", "/mcp")
        self.send_header("Content-Length", "0")
        self.end_headers()

    # ---- streamable HTTP

    def post_mcp(self, body, json_mode):
        if not isinstance(body, dict):
            self.send_json(400, {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}})
            return
        method = body.get("method")
        if method == "initialize":
            session = uuid.uuid4().hex
            with LOCK:
                SESSIONS[session] = {"alive": True, "outbox": queue.Queue()}
            requested = body["params"].get("protocolVersion")
            result = {
                "protocolVersion": requested if requested in ("2025-11-25", "2025-06-18", "2025-03-26") else "2025-11-25",
                "capabilities": {"tools": {"listChanged": True}},
                "serverInfo": {"name": "http-behaviors", "version": "1.0"},
            }
            self.answer(body["id"], result, json_mode, {"Mcp-Session-Id": session})
            return
        session = self.headers.get("Mcp-Session-Id")
        if not session:
            self.send_json(400, {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Missing session"}})
            return
        with LOCK:
            known = session in SESSIONS and session not in EXPIRED
        if not known:
            self.send_json(404, {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Session not found"}})
            return
        if "id" not in body or method is None:  # notification or response
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if method == "tools/list":
            self.answer(body["id"], {"tools": TOOLS}, json_mode)
        elif method == "tools/call":
            self.call_tool(body, session, json_mode)
        elif method == "ping":
            self.answer(body["id"], {}, json_mode)
        else:
            self.send_json(200, {"jsonrpc": "2.0", "id": body["id"], "error": {"code": -32601, "message": "no " + method}})

    def answer(self, request_id, result, json_mode, extra=None):
        message = {"jsonrpc": "2.0", "id": request_id, "result": result}
        if json_mode:
            self.send_json(200, message, extra)
        else:
            self.start_sse(extra)
            self.event(message)
            self.end_chunks()

    def call_tool(self, body, session, json_mode):
        name = body["params"]["name"]
        arguments = body["params"].get("arguments") or {}
        request_id = body["id"]
        if name == "echo":
            self.answer(request_id, text_result(arguments.get("text", "")), json_mode)
        elif name == "headers":
            headers = {k.lower(): v for k, v in self.headers.items()}
            self.answer(request_id, text_result(json.dumps(headers)), json_mode)
        elif name == "expire":
            self.answer(request_id, text_result("expired"), json_mode)
            with LOCK:
                EXPIRED.add(session)
                state = SESSIONS.get(session)
            if state:
                state["alive"] = False
        elif name == "cut":
            event_id = f"cut-{uuid.uuid4().hex}"
            with LOCK:
                RESUMABLE[event_id] = {"jsonrpc": "2.0", "id": request_id, "result": text_result("resumed")}
            self.start_sse()
            self.chunk("retry: 100\n\n")
            progress = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "half way"}}
            self.event(progress, event_id)
            self.drop_connection()
        elif name == "drop":
            self.start_sse()
            self.chunk(": about to drop\n\n")
            self.drop_connection()
        elif name == "slow":
            seconds = float(arguments.get("seconds", 1))
            self.start_sse()
            deadline = time.time() + seconds
            try:
                while time.time() < deadline:
                    self.chunk(": working\n\n")
                    time.sleep(0.1)
                self.event({"jsonrpc": "2.0", "id": request_id, "result": text_result(f"slept {seconds}")})
                self.end_chunks()
            except OSError:
                with LOCK:
                    LOG.append({"method": "CLOSED", "path": "slow", "headers": {}, "body": {"id": request_id}})
        else:
            self.answer(request_id, {"content": [{"type": "text", "text": "unknown tool"}], "isError": True}, json_mode)

    def get_stream(self):
        session = self.headers.get("Mcp-Session-Id")
        with LOCK:
            known = session in SESSIONS and session not in EXPIRED
            state = SESSIONS.get(session)
        if not known:
            self.send_plain(404, "Session not found")
            return
        last = self.headers.get("Last-Event-ID")
        if last:
            with LOCK:
                message = RESUMABLE.pop(last, None)
            if message is None:
                self.send_plain(404, "unknown event id")
                return
            self.start_sse()
            self.event(message, last + "-done")
            self.end_chunks()
            return
        # The standalone stream: kept open with comments until the session ends.
        self.start_sse()
        try:
            while state["alive"]:
                try:
                    message = state["outbox"].get(timeout=0.3)
                    self.event(message)
                except queue.Empty:
                    self.chunk(": keep-alive\n\n")
            self.end_chunks()
        except OSError:
            pass

    # ---- legacy HTTP+SSE

    def legacy_stream(self, endpoint):
        session = uuid.uuid4().hex
        outbox = queue.Queue()
        with LOCK:
            LEGACY[session] = outbox
        self.start_sse()
        try:
            self.chunk(f"event: endpoint\ndata: {endpoint}?session_id={session}\n\n")
            while True:
                try:
                    message = outbox.get(timeout=0.3)
                    self.chunk(f"event: message\ndata: {json.dumps(message)}\n\n")
                except queue.Empty:
                    self.chunk(": keep-alive\n\n")
        except OSError:
            pass

    def legacy_post(self, body):
        session = self.path.split("session_id=")[-1]
        with LOCK:
            outbox = LEGACY.get(session)
        if outbox is None:
            self.send_plain(404, "no such session")
            return
        self.send_plain(202, "Accepted")
        if not isinstance(body, dict) or "id" not in body or "method" not in body:
            return
        method = body["method"]
        if method == "initialize":
            result = {
                "protocolVersion": "2024-11-05",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "http-behaviors-legacy", "version": "1.0"},
            }
        elif method == "tools/list":
            result = {"tools": TOOLS[:2]}
        elif method == "tools/call":
            arguments = body["params"].get("arguments") or {}
            if body["params"]["name"] == "headers":
                result = text_result(json.dumps({k.lower(): v for k, v in self.headers.items()}))
            else:
                result = text_result(arguments.get("text", ""))
        else:
            outbox.put({"jsonrpc": "2.0", "id": body["id"], "error": {"code": -32601, "message": "no " + method}})
            return
        outbox.put({"jsonrpc": "2.0", "id": body["id"], "result": result})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate")
    parser.add_argument("--tls-key", help="and this PEM key")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        # The handshake runs in the handler thread, so a client that rejects the certificate cannot
        # stall the accept loop.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
