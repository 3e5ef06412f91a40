"""The published registry address of a region: a proxy in front of its docker-registry.

Without a /v2 fault rule a connection is a raw TCP pass-through (``os.splice`` through a
pipe, one thread per direction: bytes never enter Python). While rules exist, each new
connection (except one opening with a TLS handshake, relayed raw) is handled HTTP-aware,
one request per connection (``Connection: close`` both ways): the proxy reads the request
head, applies the first matching rule (answer an error status itself; wait ``latency_ms``;
reset the client connection after ``reset_after_bytes`` of response body) and streams the
rest.
"""

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import socket
import ssl
import struct
import threading
import time

from .hooks import fault_body, fault_headers

LOG = logging.getLogger("icr_sandbox.proxy")
CHUNK = 1 << 20
F_SETPIPE_SZ = 1031
HEAD_LIMIT = 64 * 1024
DRAIN_SECONDS = 2.0
TLS_HANDSHAKE = b"\x16"


class RegionProxy:
    def __init__(self, region, faults, log, listen=None):
        """``listen``: (host, port) when a TLS front holds the published address."""
        self.region = region
        self._faults = faults
        self._log = log
        host, port = listen or region.registry.rsplit(":", 1)
        self._listener = socket.create_server((host, int(port)), backlog=128)
        up_host, up_port = region.upstream.rsplit(":", 1)
        self._upstream = (up_host, int(up_port))

    def start(self):
        threading.Thread(target=self._accept_loop, name=f"proxy-{self.region.name}", daemon=True).start()

    def _accept_loop(self):
        while True:
            client, _ = self._listener.accept()
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        upstream = None
        try:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._faults.active("v2", self.region.name) and not _opens_with_tls(client):
                self._serve_http(client)
                return
            upstream = socket.create_connection(self._upstream)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _relay(client, upstream)
        except OSError as error:
            LOG.debug("proxy %s: %s", self.region.name, error)
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    sock.close()

    # ---- HTTP-aware mode (fault rules exist) ----------------------------------------------------

    def _serve_http(self, client):
        head, rest = _read_head(client)
        if head is None:
            return
        request_line, headers = _parse_head(head)
        method, target = request_line.split(" ", 2)[:2]
        path = target.split("?", 1)[0]
        rule = self._faults.match("v2", self.region.name, method, target)
        reset_after = None
        if rule is not None and rule.get("reset_after_bytes") is None:
            if self._faults.fire(rule):
                if rule.get("latency_ms"):
                    time.sleep(rule["latency_ms"] / 1000)
                if rule.get("status") is not None:
                    self._answer_fault(client, rule, method, path)
                    return
        elif rule is not None:   # spent only if the body turns out longer than reset_after_bytes
            reset_after = int(rule["reset_after_bytes"])
            if rule.get("latency_ms"):
                time.sleep(rule["latency_ms"] / 1000)
        upstream = socket.create_connection(self._upstream)
        pump = threading.Thread(target=_pump_quietly, args=(client, upstream), daemon=True)
        try:
            upstream.sendall(_build_head(request_line, headers) + rest)
            pump.start()
            reset = self._relay_response(upstream, client, rule, reset_after)
        finally:
            # Wakes the request pump (blocked reading the client) without sending anything.
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RD)
            if pump.is_alive():
                pump.join(DRAIN_SECONDS)
            upstream.close()
        if reset:
            # SO_LINGER 0: close() sends RST, the client sees a reset mid-body.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _answer_fault(self, client, rule, method, path):
        status = rule["status"]
        body = json.dumps(fault_body("v2", status)).encode()
        lines = [f"HTTP/1.1 {status} Sandbox Fault", "Content-Type: application/json",
                 f"Content-Length: {len(body)}", "Connection: close",
                 "Docker-Distribution-Api-Version: registry/2.0"]
        lines += [f"{k}: {v}" for k, v in fault_headers(rule).items()]
        self._log.record("v2", self.region.name, method, path, status)
        client.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if method == "HEAD" else body))
        # Read what the client still sends (an upload body) so it sees the answer, not a reset.
        client.shutdown(socket.SHUT_WR)
        client.settimeout(DRAIN_SECONDS)
        with contextlib.suppress(OSError):
            while client.recv(CHUNK):
                pass

    def _relay_response(self, upstream, client, rule, reset_after):
        """Streams the response; True when it stopped after ``reset_after`` body bytes."""
        head, rest = _read_head(upstream)
        if head is None:
            return False
        status_line, headers = _parse_head(head)
        client.sendall(_build_head(status_line, headers))
        if reset_after is None:
            client.sendall(rest)
            _splice_all(upstream, client)
            return False
        sent = 0
        data = rest
        while data:
            if sent + len(data) > reset_after and self._faults.fire(rule):
                client.sendall(data[:max(reset_after - sent, 0)])
                return True
            client.sendall(data)
            sent += len(data)
            data = upstream.recv(CHUNK)
        return False


def _opens_with_tls(client):
    """True when the client starts a TLS handshake (dockerd tries https first on loopback).

    Such a connection is relayed raw, so the registry answers it with plain HTTP at once, as
    without rules; read as HTTP, no request head would ever come and dockerd would wait out
    its 10 s TLS handshake timeout before falling back to http.
    """
    return client.recv(1, socket.MSG_PEEK) == TLS_HANDSHAKE


def _read_head(sock):
    """(head bytes without the blank line, bytes after it) or (None, b"") on EOF/overflow."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk or len(data) > HEAD_LIMIT:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _parse_head(head):
    lines = head.decode("iso-8859-1").split("\r\n")
    return lines[0], [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:] if ":" in line]


def _build_head(first_line, headers):
    hop = {"connection", "keep-alive", "proxy-connection"}
    lines = [first_line] + [f"{k}: {v}" for k, v in headers if k.lower() not in hop] + ["Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1")


# ---- raw relay ------------------------------------------------------------------------------------

def _relay(client, upstream):
    other = threading.Thread(target=_pump_quietly, args=(client, upstream), daemon=True)
    other.start()
    _pump_quietly(upstream, client)
    other.join()


def _pump_quietly(source, destination):
    with contextlib.suppress(OSError):
        _splice_all(source, destination)
    with contextlib.suppress(OSError):
        destination.shutdown(socket.SHUT_WR)


def _splice_all(source, destination):
    """Moves bytes socket to socket inside the kernel until the source's EOF."""
    read_end, write_end = os.pipe()
    try:
        with contextlib.suppress(OSError):
            fcntl.fcntl(write_end, F_SETPIPE_SZ, CHUNK)
        source_fd, destination_fd = source.fileno(), destination.fileno()
        while True:
            moved = os.splice(source_fd, write_end, CHUNK)
            if moved == 0:
                return
            while moved:
                moved -= os.splice(read_end, destination_fd, moved)
    finally:
        os.close(read_end)
        os.close(write_end)


# ---- TLS in front (up --tls) ------------------------------------------------------------------------

class TlsFront:
    """Terminates TLS on the published address and relays plaintext to the region's proxy.

    asyncio keeps each TLS connection on one thread (an SSL object must not be read and
    written from two threads at once). A reset of the inner connection (a
    ``reset_after_bytes`` fault) is passed on to the client as a reset.
    """

    def __init__(self, listen, inner, context):
        self._listen = listen
        self._inner = inner
        self._context = context
        self._loop = asyncio.new_event_loop()
        host, port = listen
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, host, port, ssl=self._context, limit=CHUNK))

    def start(self):
        threading.Thread(target=self._loop.run_forever, name=f"tls-{self._listen[1]}", daemon=True).start()

    async def _handle(self, reader, writer):
        try:
            inner_reader, inner_writer = await asyncio.open_connection(*self._inner, limit=CHUNK)
        except OSError:
            writer.close()
            return
        upload = asyncio.ensure_future(_forward(reader, inner_writer))
        try:
            while True:
                data = await inner_reader.read(CHUNK)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except ConnectionResetError:
            sock = writer.get_extra_info("socket")
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        except OSError:
            writer.transport.abort()
        finally:
            upload.cancel()
            inner_writer.close()
            if not writer.transport.is_closing():
                writer.close()


async def _forward(reader, writer):
    with contextlib.suppress(OSError, asyncio.IncompleteReadError, ssl.SSLError):
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
