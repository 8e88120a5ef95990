"""fakekit.http_client: httpx2's API over kept-alive http.client connections (the provisioning engine's transport)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx2
import pytest

from fakekit.http_client import keepalive_client
from fakekit.serving import serve_in_thread


async def _echo(scope: dict, receive: Callable, send: Callable) -> None:  # type: ignore[type-arg]
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    text = (
        f"{scope['method']} {scope['raw_path'].decode()}?{scope['query_string'].decode()} {headers.get('x-test', '')}"
    )
    out = text.encode() + b"|" + body
    await send({"type": "http.response.start", "status": 201, "headers": [(b"x-echo", b"yes")]})
    await send({"type": "http.response.body", "body": out})


def test_requests_and_answers_are_httpx2s_and_one_connection_serves_them_all() -> None:
    served = serve_in_thread("echo", _echo, "127.0.0.1", 0)
    try:
        with keepalive_client(10.0) as client:
            answers = [
                client.post(
                    f"{served.base_url}/a b/Users", params={"filter": 'userName eq "x@y"'}, json={"n": i},
                    headers={"X-Test": "t"},
                )
                for i in range(20)
            ]  # fmt: skip
            opened = len(client._transport._opened)  # type: ignore[attr-defined]
    finally:
        served.stop()
    assert {r.status_code for r in answers} == {201}
    assert answers[3].headers["x-echo"] == "yes"
    assert answers[3].text == 'POST /a%20b/Users?filter=userName+eq+%22x%40y%22 t|{"n":3}'
    assert opened == 1


def test_requests_from_other_threads_take_the_idle_connection_instead_of_opening_one() -> None:
    """The engine runs cycles from the clock's and the server's threads: one after another they share a connection."""
    served = serve_in_thread("echo", _echo, "127.0.0.1", 0)
    try:
        with keepalive_client(10.0) as client:
            for i in range(10):
                url = f"{served.base_url}/t{i}"
                thread = threading.Thread(target=lambda u=url: client.get(u).raise_for_status())  # type: ignore[misc]
                thread.start()
                thread.join()
            opened = len(client._transport._opened)  # type: ignore[attr-defined]
    finally:
        served.stop()
    assert opened == 1


@contextmanager
def _one_answer_then_close() -> Iterator[tuple[int, list[int]]]:
    """A server that answers each connection's first request (keep-alive promised) and then closes it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
                conn.shutdown(socket.SHUT_RDWR)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        listener.close()


def test_a_connection_the_server_closed_while_idle_is_replaced_not_written_to() -> None:
    with _one_answer_then_close() as (port, accepted), keepalive_client(5.0) as client:
        first = client.get(f"http://127.0.0.1:{port}/one")
        time.sleep(0.05)  # the server's close reaches the client socket (a few µs on loopback)
        second = client.get(f"http://127.0.0.1:{port}/two")
    assert (first.text, second.text) == ("ok", "ok")
    assert len(accepted) == 2


def test_failures_are_httpx2_transport_errors() -> None:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    with keepalive_client(5.0) as client:
        with pytest.raises(httpx2.ConnectError):
            client.get(f"http://127.0.0.1:{port}/")
        with pytest.raises(httpx2.ConnectError):  # https goes to httpx2's own transport
            client.get(f"https://127.0.0.1:{port}/")

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    hang_up = threading.Thread(target=lambda: silent.accept()[0].close(), daemon=True)
    hang_up.start()
    try:
        with keepalive_client(5.0) as client, pytest.raises(httpx2.TransportError):
            client.get(f"http://127.0.0.1:{silent.getsockname()[1]}/")
    finally:
        silent.close()

    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen()
    try:
        with keepalive_client(0.2) as client, pytest.raises(httpx2.ReadTimeout):
            client.get(f"http://127.0.0.1:{mute.getsockname()[1]}/")
    finally:
        mute.close()
