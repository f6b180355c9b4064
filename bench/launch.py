#!/usr/bin/env python3
"""Starts a process and measures the time from its start to its first successful answer.

Used by bench/run.sh (stdlib only):

  launch.py ready --url http://127.0.0.1:P/openapi.json --pid-file F --log F [--post BODY] -- cmd args...
      Starts cmd in a session of its own (stdin /dev/null, stdout+stderr to the log), polls the URL
      (GET, or POST BODY as JSON) every 0.5 ms until it answers 200, prints the milliseconds from
      just before the spawn to that answer, writes the pid and leaves the process running.
      Exits 1 (after killing it) if it exits first or is not ready within --timeout seconds.

  launch.py stdio-start [--runs N] -- cmd args...
      Spawns a stdio MCP server N times, sends initialize + notifications/initialized + tools/list, and
      prints the median milliseconds from just before the spawn to the tools/list answer: the server's
      own start, to set against the proxy's ready time.
"""

import argparse
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import time
from urllib.parse import urlsplit


def http_ok(host: str, port: int, path: str, body: bytes | None) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            if body is None:
                request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
            else:
                request = (
                    f"POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
                    "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode() + body
            sock.sendall(request)
            head = b""
            while b"\r\n" not in head:
                chunk = sock.recv(4096)
                if not chunk:
                    return False
                head += chunk
            return head.split(b"\r\n", 1)[0].split(b" ")[1:2] == [b"200"]
    except OSError:
        return False


def ready(args: argparse.Namespace) -> int:
    url = urlsplit(args.url)
    host, port, path = url.hostname or "127.0.0.1", url.port or 80, url.path or "/"
    body = args.post.encode() if args.post is not None else None
    with open(args.log, "ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            args.command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    with open(args.pid_file, "w") as pid_file:
        pid_file.write(f"{process.pid}\n")
    deadline = started + args.timeout
    while True:
        if http_ok(host, port, path, body):
            elapsed = (time.perf_counter() - started) * 1000
            print(f"{elapsed:.1f}")
            return 0
        if process.poll() is not None:
            print(f"launch.py: {args.command[0]} exited with status {process.returncode} before it was ready",
                  file=sys.stderr)
            return 1
        if time.perf_counter() > deadline:
            print(f"launch.py: {args.command[0]} not ready within {args.timeout} s", file=sys.stderr)
            os.killpg(process.pid, signal.SIGKILL)
            return 1
        time.sleep(0.0005)


def read_lines(stream, count: int, deadline: float) -> bool:
    """Reads `count` lines from the pipe `stream` (raw fd reads) before `deadline`."""
    seen = 0
    fd = stream.fileno()
    while seen < count:
        remaining = deadline - time.perf_counter()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return False
        chunk = os.read(fd, 65536)
        if not chunk:
            return False
        seen += chunk.count(b"\n")
    return True


def stdio_start(args: argparse.Namespace) -> int:
    messages = (
        b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
        b'"capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}\n'
        b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
        b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'
    )
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        process = subprocess.Popen(
            args.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert process.stdin is not None and process.stdout is not None  # pipes were asked for
        process.stdin.write(messages)
        process.stdin.flush()
        ok = read_lines(process.stdout, 2, started + 10)
        elapsed = (time.perf_counter() - started) * 1000
        process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if not ok:
            print(f"launch.py: {args.command[0]} did not answer initialize and tools/list", file=sys.stderr)
            return 1
        times.append(elapsed)
    print(f"{statistics.median(times):.1f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    ready_parser = sub.add_parser("ready")
    ready_parser.add_argument("--url", required=True)
    ready_parser.add_argument("--pid-file", required=True)
    ready_parser.add_argument("--log", required=True)
    ready_parser.add_argument("--post")
    ready_parser.add_argument("--timeout", type=float, default=60)
    ready_parser.add_argument("command", nargs="+")
    start_parser = sub.add_parser("stdio-start")
    start_parser.add_argument("--runs", type=int, default=5)
    start_parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    return ready(args) if args.mode == "ready" else stdio_start(args)


if __name__ == "__main__":
    sys.exit(main())
