"""A stdio MCP server (standard library only) that misbehaves on purpose, to show the proxy copes.

Between its answers it writes garbage lines, JSON that is not JSON-RPC, and a response for an id nobody
asked for. Tools: `echo(text)` answers normally; `huge(size)` answers with a text of `size` characters
(one very long line); `garbage_then_echo(text)` writes junk lines, then answers.
"""

import json
import sys


def write(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def result(request_id, text):
    write(json.dumps({"jsonrpc": "2.0", "id": request_id, "result": {"content": [{"type": "text", "text": text}]}}))


TOOLS = [
    {"name": "echo", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
    {"name": "huge", "inputSchema": {"type": "object", "properties": {"size": {"type": "integer"}}, "required": ["size"]}},
    {"name": "ping_client", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "ping_answered", "inputSchema": {"type": "object", "properties": {}}},
    {
        "name": "garbage_then_echo",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    },
]

write("this server prints a banner on stdout, which MCP forbids")
ping_answer = None
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    message = json.loads(line)
    method, request_id = message.get("method"), message.get("id")
    if request_id == "server-ping" and method is None:
        ping_answer = message
        continue
    if request_id is None:
        continue
    if method == "initialize":
        write(json.dumps({"jsonrpc": "2.0", "id": request_id, "result": {
            "protocolVersion": message["params"]["protocolVersion"], "capabilities": {"tools": {}},
            "serverInfo": {"name": "misbehaving", "version": "0.0.1"}}}))
    elif method == "tools/list":
        write('{"not": "json-rpc"}')
        write(json.dumps({"jsonrpc": "2.0", "id": request_id, "result": {"tools": TOOLS}}))
    elif method == "tools/call":
        name, arguments = message["params"]["name"], message["params"].get("arguments", {})
        if name == "ping_client":
            # A server-to-client request: the client must answer it.
            write(json.dumps({"jsonrpc": "2.0", "id": "server-ping", "method": "ping"}))
            result(request_id, "sent")
        elif name == "ping_answered":
            result(request_id, json.dumps(ping_answer))
        elif name == "huge":
            result(request_id, "x" * int(arguments["size"]))
        elif name == "garbage_then_echo":
            write("{{{ not json")
            write(json.dumps({"jsonrpc": "2.0", "id": 987654, "result": {}}))
            write("[1, 2")
            result(request_id, arguments["text"])
        else:
            result(request_id, arguments.get("text", ""))
    else:
        write(json.dumps({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32601, "message": "no " + method}}))
