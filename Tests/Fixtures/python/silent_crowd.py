"""Holds many silent client connections to a proxy, outside the test process.

Usage: silent_crowd.py PORT COUNT BOUND_SECONDS

Opens COUNT connections to 127.0.0.1:PORT that never send a byte, then calls POST /echo on a fresh
connection while they are open, then waits (at most BOUND_SECONDS) for the proxy to close the silent ones.
Prints one JSON object: {"opened": n, "echo_status": s, "echo_body": b, "closed": k}.

The connections live in this process because the test process launches children with Foundation's
Process, whose descriptor scan misbehaves when thousands of descriptors are open.
"""

import json
import resource
import select
import socket
import sys
import time


def main() -> None:
    port, count, bound = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, count + 200)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    crowd = []
    for _ in range(count):
        crowd.append(socket.create_connection(("127.0.0.1", port), timeout=30))

    body = json.dumps({"text": "still here"}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as normal:
        normal.sendall(
            b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        answer = b""
        while True:
            chunk = normal.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0

    poller = select.poll()
    by_fd = {}
    for connection in crowd:
        connection.setblocking(False)
        poller.register(connection, select.POLLIN)
        by_fd[connection.fileno()] = connection
    open_fds = set(by_fd)
    deadline = time.monotonic() + bound
    while open_fds and time.monotonic() < deadline:
        for fd, _ in poller.poll(200):
            try:
                data = by_fd[fd].recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data and fd in open_fds:
                open_fds.discard(fd)
                poller.unregister(fd)
    print(
        json.dumps(
            {
                "opened": len(crowd),
                "echo_status": status,
                "echo_body": payload.decode(errors="replace"),
                "closed": len(crowd) - len(open_fds),
            }
        ),
        flush=True,
    )
    for connection in crowd:
        connection.close()


if __name__ == "__main__":
    main()
