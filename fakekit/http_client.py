"""An httpx2 client whose plain-HTTP requests go over kept-alive ``http.client`` connections.

The provisioning engine sends tens of thousands of small SCIM requests in a row to one server. httpx2's own transport
(httpcore2 + h11) spends about 400 µs of CPU on each of them (measured against a bare uvicorn server: 520 µs per
request of the client thread, ``http.client`` 110 µs). :class:`KeepAliveTransport` keeps httpx2's API — the client,
its requests, responses and exceptions are httpx2's, so every caller and test double stays as it is — and sends
``http://`` requests with the standard library's ``http.client`` instead: connections kept open between requests
in a pool per origin (a request takes an idle one or opens one, and gives it back once its answer is read, so there
are never more than the requests in flight at once), each checked before reuse (a connection the server closed while idle — uvicorn's
keep-alive timeout is 5 s, a provisioning cycle comes every 40 min — is replaced, never written to). ``https://``
and anything else go to httpx2's default transport, created on first use (so no TLS context is loaded for a
plain-HTTP target).

Failures map to httpx2's exceptions, all :class:`httpx2.TransportError`: refused or unreachable → ``ConnectError``,
a timeout while connecting → ``ConnectTimeout``, while waiting for the answer → ``ReadTimeout``, a connection that
breaks mid-request → ``ReadError``/``WriteError``, a malformed answer → ``RemoteProtocolError``. A request is never
re-sent on its own (a POST whose answer was lost may have been applied).
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
from typing import Any

import httpx2

__all__ = ["KeepAliveTransport", "keepalive_client"]

_Origin = tuple[str, int]


class KeepAliveTransport(httpx2.BaseTransport):
    """httpx2 transport: ``http://`` over kept-alive ``http.client`` connections (see the module docstring)."""

    def __init__(self) -> None:
        self._idle: dict[_Origin, list[http.client.HTTPConnection]] = {}
        self._fallback: httpx2.BaseTransport | None = None
        self._lock = threading.Lock()
        self._opened: set[http.client.HTTPConnection] = set()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request`` and return its response, or raise an :class:`httpx2.TransportError`."""
        url = request.url
        if url.scheme != "http" or not url.host:
            return self._other().handle_request(request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        origin = (url.host, url.port or 80)
        body = request.read()
        conn = self._connection(origin, timeouts.get("connect"))
        phase = "connect"
        try:
            if conn.sock is None:
                conn.connect()
            phase = "read"
            self._send(conn, request, body, timeouts)
            answer = conn.getresponse()
            data = answer.read()
        except BaseException as exc:
            self._drop(conn)
            raise _mapped(exc, phase) from exc
        if answer.will_close:
            self._drop(conn)
        else:
            with self._lock:
                self._idle.setdefault(origin, []).append(conn)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.getheaders()]
        return httpx2.Response(
            answer.status,
            headers=headers,
            stream=httpx2.ByteStream(data),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason.encode("latin-1")},
        )

    def close(self) -> None:
        """Close every connection this transport opened and the fallback transport."""
        with self._lock:
            opened, self._opened = self._opened, set()
            self._idle.clear()
        for conn in opened:
            conn.close()
        if self._fallback is not None:
            self._fallback.close()

    # --- connections -------------------------------------------------------------------------------------------
    def _connection(self, origin: _Origin, connect_timeout: float | None) -> http.client.HTTPConnection:
        """Return an idle connection to ``origin`` the server has not closed (closing those it has), else a new one."""
        with self._lock:
            idle = self._idle.get(origin, [])
            while idle:
                conn = idle.pop()
                if conn.sock is not None and not _closed_by_peer(conn.sock):
                    return conn
                conn.close()
                self._opened.discard(conn)
            conn = http.client.HTTPConnection(origin[0], origin[1], timeout=connect_timeout)
            self._opened.add(conn)
        return conn

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        with self._lock:
            self._opened.discard(conn)

    @staticmethod
    def _send(
        conn: http.client.HTTPConnection, request: httpx2.Request, body: bytes, timeouts: dict[str, float | None]
    ) -> None:
        assert conn.sock is not None
        conn.sock.settimeout(timeouts.get("read"))
        target = request.url.raw_path.decode("ascii")
        conn.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in request.headers.raw:
            conn.putheader(name.decode("latin-1"), value.decode("latin-1"))
        conn.endheaders(body or None)

    def _other(self) -> httpx2.BaseTransport:
        with self._lock:
            if self._fallback is None:
                self._fallback = httpx2.HTTPTransport()
            return self._fallback


def _closed_by_peer(sock: socket.socket) -> bool:
    """Return whether an idle kept-alive socket became readable: the server closed it (or sent garbage)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _mapped(exc: BaseException, phase: str) -> BaseException:
    """Return the httpx2 exception for a failure of ``http.client`` (``phase``: connect or read)."""
    if isinstance(exc, httpx2.TransportError) or not isinstance(exc, Exception):
        return exc
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, TimeoutError | socket.timeout):
        return httpx2.ConnectTimeout(message) if phase == "connect" else httpx2.ReadTimeout(message)
    if isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError):
        return httpx2.ReadError(message) if phase == "read" else httpx2.ConnectError(message)
    if isinstance(exc, http.client.HTTPException):
        return httpx2.RemoteProtocolError(message)
    if isinstance(exc, OSError):
        return httpx2.ConnectError(message) if phase == "connect" else httpx2.ReadError(message)
    return exc


def keepalive_client(timeout: float, **kwargs: Any) -> httpx2.Client:
    """Return an ``httpx2.Client`` with :class:`KeepAliveTransport` and ``timeout`` seconds for each phase."""
    return httpx2.Client(timeout=timeout, transport=KeepAliveTransport(), **kwargs)
