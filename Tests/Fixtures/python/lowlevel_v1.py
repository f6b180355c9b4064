"""Low-level fixture MCP server on the mcp 1.x SDK (mcp.server.lowlevel.Server), stdio only.

Results FastMCP cannot produce: JSON-RPC errors with chosen codes, every content type, isError
with text, structuredContent with empty content, a zod-to-json-schema style `#/properties/...`
$ref, and a paginated tools/list (pages of 3 with nextCursor).

    .venv-mcp1/bin/python Tests/Fixtures/python/lowlevel_v1.py

Raw request handlers are registered (not the @server.call_tool() decorator), because the
decorator turns every exception, McpError included, into an isError result.
"""

import base64
import io
import json
import struct
import wave

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import McpError

PAGE_SIZE = 3

PIXEL_PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def _tiny_wav_b64() -> str:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(struct.pack("<4h", 0, 1000, 0, -1000))
    return base64.b64encode(buf.getvalue()).decode()


EMPTY = {"type": "object", "properties": {}}

TOOLS = [
    types.Tool(
        name="rpc_error",
        description="Fails with a JSON-RPC error of the given code (data {'field':'x'} when with_data)",
        inputSchema={
            "type": "object",
            "properties": {
                "code": {"type": "integer"},
                "message": {"type": "string"},
                "with_data": {"type": "boolean", "default": False},
            },
            "required": ["code", "message"],
        },
    ),
    types.Tool(
        name="mixed_content",
        description="text + image + embedded text resource + embedded blob resource + resource_link + audio",
        inputSchema=EMPTY,
    ),
    types.Tool(name="is_error_text", description="isError true with a text content", inputSchema=EMPTY),
    types.Tool(name="structured_only", description="content [] and structuredContent {'a': 1}", inputSchema=EMPTY),
    types.Tool(
        name="zod_refs",
        description="inputSchema with a #/properties/... $ref, as zod-to-json-schema emits; echoes the arguments",
        inputSchema={
            "type": "object",
            "properties": {
                "from": {
                    "type": "object",
                    "properties": {"email": {"type": "string"}},
                    "required": ["email"],
                    "additionalProperties": False,
                },
                "to": {"$ref": "#/properties/from"},
            },
            "required": ["from", "to"],
            "additionalProperties": False,
            "$schema": "http://json-schema.org/draft-07/schema#",
        },
    ),
    types.Tool(
        name="echo_args",
        description="Echo the raw arguments object as JSON text",
        inputSchema={"type": "object", "properties": {}, "additionalProperties": True},
    ),
    types.Tool(name="empty_content", description="content [] and nothing else", inputSchema=EMPTY),
]

server = Server(
    "fixture-lowlevel",
    version="1.0.0",
    instructions="Low-level fixture server for swift-mcpo tests (mcp 1.x lowlevel Server).",
)


async def list_tools(req: types.ListToolsRequest) -> types.ServerResult:
    cursor = req.params.cursor if req is not None and req.params is not None else None
    try:
        start = int(cursor) if cursor else 0
    except ValueError:
        raise McpError(types.ErrorData(code=types.INVALID_PARAMS, message=f"bad cursor {cursor!r}"))
    page = TOOLS[start : start + PAGE_SIZE]
    next_cursor = str(start + PAGE_SIZE) if start + PAGE_SIZE < len(TOOLS) else None
    return types.ServerResult(types.ListToolsResult(tools=page, nextCursor=next_cursor))


def _result(**kwargs) -> types.ServerResult:
    return types.ServerResult(types.CallToolResult(**kwargs))


def _text(text: str) -> types.TextContent:
    return types.TextContent(type="text", text=text)


async def call_tool(req: types.CallToolRequest) -> types.ServerResult:
    name = req.params.name
    args = req.params.arguments or {}
    if name == "rpc_error":
        raise McpError(
            types.ErrorData(
                code=int(args.get("code", types.INTERNAL_ERROR)),
                message=str(args.get("message", "error")),
                data={"field": "x"} if args.get("with_data") else None,
            )
        )
    if name == "mixed_content":
        return _result(
            content=[
                _text("caption"),
                types.ImageContent(type="image", data=PIXEL_PNG_B64, mimeType="image/png"),
                types.EmbeddedResource(
                    type="resource",
                    resource=types.TextResourceContents(uri="file:///notes.txt", mimeType="text/plain", text="res body"),
                ),
                types.EmbeddedResource(
                    type="resource",
                    resource=types.BlobResourceContents(
                        uri="file:///data.bin",
                        mimeType="application/octet-stream",
                        blob=base64.b64encode(b"\x00\x01\x02binary").decode(),
                    ),
                ),
                types.ResourceLink(
                    type="resource_link", name="doc", uri="file:///doc.md", mimeType="text/markdown", description="a doc"
                ),
                types.AudioContent(type="audio", data=_tiny_wav_b64(), mimeType="audio/wav"),
            ]
        )
    if name == "is_error_text":
        return _result(content=[_text("the tool failed: bad input")], isError=True)
    if name == "structured_only":
        return _result(content=[], structuredContent={"a": 1})
    if name in ("zod_refs", "echo_args"):
        return _result(content=[_text(json.dumps(args))])
    if name == "empty_content":
        return _result(content=[])
    raise McpError(types.ErrorData(code=types.INVALID_PARAMS, message=f"Unknown tool: {name}"))


server.request_handlers[types.ListToolsRequest] = list_tools
server.request_handlers[types.CallToolRequest] = call_tool


async def main() -> None:
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
