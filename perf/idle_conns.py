#!/usr/bin/env python3
"""Open N idle HTTP/1.1 keep-alive connections to a proxy and hold them.

Each connection sends one GET, reads the complete response (Content-Length
framing), checks it is a 200 that keeps the connection open, and then stays
idle. When all N are open the script prints one line

    READY ok=<opened> failed=<failed> first_error=<text or ->

and then serves commands read from stdin, one per line:

    check   -> prints "OPEN <k>": how many connections the server has not closed
    quit    -> closes everything and exits (so does EOF on stdin)

With --tls every connection first completes a TLS handshake (certificate not
verified: the test certificate is self-signed; SNI --sni, default "localhost")
and the GET goes over TLS.

It never holds the connections longer than --hold seconds (default 300), so it
always ends by itself. Used by perf/load.sh for the "idle" and "tlsidle"
scenarios: the caller samples the proxy's RSS between READY and quit.
"""

import argparse
import os
import resource
import select
import socket
import ssl
import sys
import time


def tls_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def one_request(host: str, port: int, path: str, timeout: float, tls=None, sni=None) -> socket.socket:
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        if tls is not None:
            # the handshake happens here (do_handshake_on_connect)
            s = tls.wrap_socket(s, server_hostname=sni)
        req = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "User-Agent: portier-perf-idle\r\nAccept: */*\r\n\r\n"
        )
        s.sendall(req.encode("ascii"))
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the response head")
            buf += chunk
            if len(buf) > 65536:
                raise ValueError("response head larger than 64 KiB")
        head, _, body = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            value = value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and b"close" in value:
                raise ValueError("server answered Connection: close")
            elif name == b"transfer-encoding":
                raise ValueError("chunked response not supported by this probe")
        if status != 200:
            raise ValueError(f"status {status}")
        if length is None:
            raise ValueError("response without Content-Length")
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("closed in the middle of the body")
            body += chunk
        if len(body) != length:
            raise ValueError("more bytes than Content-Length")
        return s
    except BaseException:
        s.close()
        raise


def tls_closed(s: ssl.SSLSocket) -> bool:
    """A readable TLS connection: closed if the next record is close_notify or
    EOF; open if it only held post-handshake messages (session tickets).
    Consumes what it reads: call it only once the measurement is taken."""
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return False
    except OSError:  # ssl.SSLError is an OSError
        return True


def count_open(socks) -> int:
    """Connections the peer has not closed (a closed one polls readable with EOF)."""
    poller = select.poll()
    by_fd = {s.fileno(): s for s in socks}
    for fd in by_fd:
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    closed = 0
    for fd, _events in poller.poll(0):
        s = by_fd[fd]
        if isinstance(s, ssl.SSLSocket):
            closed += tls_closed(s)
            continue
        try:
            data = s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            if data == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return len(socks) - closed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/100b")
    ap.add_argument("-n", "--connections", type=int, default=4000)
    ap.add_argument("--timeout", type=float, default=5.0, help="per-connection I/O timeout (s)")
    ap.add_argument("--hold", type=float, default=300.0, help="maximum time to hold (s)")
    ap.add_argument("--tls", action="store_true", help="TLS (certificate not verified)")
    ap.add_argument("--sni", default="localhost", help="server name sent with --tls")
    args = ap.parse_args()
    tls = tls_context() if args.tls else None

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.connections + 64
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        if new < want:
            print(f"error: open-file limit {hard} < {want} needed", file=sys.stderr)
            return 2

    socks = []
    failed = 0
    first_error = "-"
    deadline = time.monotonic() + args.hold
    for _ in range(args.connections):
        if time.monotonic() > deadline:
            break
        try:
            s = one_request(args.host, args.port, args.path, args.timeout, tls, args.sni)
            s.settimeout(None)
            socks.append(s)
        except (OSError, ValueError) as e:
            failed += 1
            if first_error == "-":
                first_error = f"{type(e).__name__}: {e}".replace("\n", " ")
            if failed >= 50 and not socks:
                break  # the server is clearly refusing: do not spin
    print(f"READY ok={len(socks)} failed={failed} first_error={first_error}", flush=True)

    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([sys.stdin], [], [], left)
        if not ready:
            break
        line = sys.stdin.readline()
        if not line or line.strip() == "quit":
            break
        if line.strip() == "check":
            print(f"OPEN {count_open(socks)}", flush=True)
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        os._exit(130)
