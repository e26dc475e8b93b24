"""Real websocket clients against each baked router under real servers."""

import asyncio
import json
import socket
import sys
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from helpers import BIN, DAPHNE, get, open_socket, serving, wait_for_log

SERVERS = {
    "daphne": DAPHNE,
    "uvicorn": [
        BIN / "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "app:application",
    ],
    "runserver": [
        sys.executable,
        "app.py",
        "runserver",
        "--noreload",
        "127.0.0.1:{port}",
    ],
}


@contextmanager
def served(server, baked, tmp_path_factory):
    """Serve a bake with one of SERVERS; yield its base URL and log file."""
    log = tmp_path_factory.mktemp(server) / "server.log"
    with serving(SERVERS[server], baked.project_path, log) as running:
        yield running.url, log


@pytest.fixture(scope="session", params=SERVERS)
def site(request, baked_websocket, tmp_path_factory):
    """Each websocket bake under each server: (base URL, server log)."""
    with served(request.param, baked_websocket, tmp_path_factory) as site:
        yield site


@pytest.fixture(scope="session", params=SERVERS)
def chat_site(request, baked_channels, tmp_path_factory):
    with served(request.param, baked_channels, tmp_path_factory) as (url, _):
        yield url


def handshake_status(url, path, **headers):
    """The HTTP status the server answers the handshake with: 101 is accepted."""

    async def attempt():
        try:
            async with open_socket(url, path, **headers):
                return 101
        except InvalidStatus as refusal:
            return refusal.response.status_code

    return asyncio.run(attempt())


def test_echoes_text_and_bytes(site):
    url, log = site

    async def talk():
        async with open_socket(url, "/ws/echo/") as socket:
            await socket.send("Hello, websocket")
            text = await socket.recv()
            await socket.send(bytes(range(256)))
            data = await socket.recv()
        return text, data

    assert asyncio.run(talk()) == ("Hello, websocket", bytes(range(256)))
    assert "Traceback" not in log.read_text()


# Why the app refuses, as it logs it ({host} is the server's host:port).
def hosts_rule(host, origin):
    return f"Host {host} and Origin {origin} must be in ALLOWED_HOSTS"


@pytest.mark.parametrize(
    ("path", "headers", "reason"),
    [
        pytest.param(
            "/ws/echo/",
            {"origin": "http://evil.example"},
            hosts_rule("{host}", "http://evil.example"),
            id="foreign-origin",
        ),
        pytest.param(
            "/ws/echo/",
            {"origin": None},
            hosts_rule("{host}", "(none)"),
            id="missing-origin",
        ),
        pytest.param(
            "/ws/echo/",
            {"origin": "null"},
            hosts_rule("{host}", "null"),
            id="null-origin",
        ),
        pytest.param(
            "/ws/echo/",
            {"host": "evil.example"},
            hosts_rule("evil.example:{port}", "http://{host}"),
            id="foreign-host",
        ),
        pytest.param("/ws/nowhere/", {}, "no route", id="unknown-path"),
    ],
)
def test_refuses_at_the_handshake_saying_why(site, path, headers, reason):
    url, log = site
    parts = urlsplit(url)

    status = handshake_status(url, path, **headers)

    why = reason.format(host=parts.netloc, port=parts.port)
    text = wait_for_log(log, f" WARNING  Websocket {path} refused: {why}\n")
    assert status == 403
    assert "Traceback" not in text


def test_http_still_works_beside_websockets(site):
    url, _ = site

    status, _, body = get(url, "/?name=both")

    assert status == 200
    assert b"<h1>Hello, both!</h1>" in body


def test_chat_reaches_the_room_and_no_other(chat_site):
    async def talk():
        async with (
            open_socket(chat_site, "/ws/chat/tea/") as alice,
            open_socket(chat_site, "/ws/chat/tea/") as bob,
            open_socket(chat_site, "/ws/chat/coffee/") as carol,
        ):
            await alice.send(json.dumps({"message": "Tea is ready"}))
            heard = [json.loads(await alice.recv()), json.loads(await bob.recv())]
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(carol.recv(), timeout=0.5)
        return heard

    assert asyncio.run(talk()) == [{"message": "Tea is ready"}] * 2


def test_uvicorn_serves_without_lifespan_and_without_an_error(baked, tmp_path_factory):
    with served("uvicorn", baked, tmp_path_factory) as (url, log):
        status, _, _ = get(url)

    text = log.read_text()
    assert status == 200
    assert "INFO:     ASGI 'lifespan' protocol appears unsupported." in text
    assert "ERROR" not in text
    assert "Traceback" not in text


def test_http_only_variant_refuses_websockets(bake, tmp_path_factory):
    http_only = bake({"debug": False, "websocket": "none"})

    with served("daphne", http_only, tmp_path_factory) as (url, log):
        status = handshake_status(url, "/ws/echo/")
        text = wait_for_log(log, "WSREJECT /ws/echo/")
        refusal = "WARNING  Websocket /ws/echo/ refused: this site speaks HTTP only"

    assert status == 403
    assert refusal in text
    assert "Traceback" not in text
    assert "ERROR" not in text


@pytest.fixture
def own_daphne(baked_websocket, tmp_path):
    """A daphne of this test's own, so that its shutdown can be checked too."""
    with serving(DAPHNE, baked_websocket.project_path, tmp_path / "log") as server:
        yield server


def test_oversized_message_drops_only_its_connection(own_daphne):
    async def talk():
        async with (
            open_socket(own_daphne.url, "/ws/echo/") as big,
            open_socket(own_daphne.url, "/ws/echo/") as other,
        ):
            # daphne's limit is 1 MiB. It may drop the connection while the
            # message is still being sent, so either call may see it closed.
            with pytest.raises(ConnectionClosedError) as closed:
                await big.send("x" * (1024 * 1024 + 1))
                await big.recv()
            await other.send("still here")
            return closed.value.rcvd, await other.recv()

    # daphne drops that connection at once, with no close frame (code 1006).
    assert asyncio.run(talk()) == (None, "still here")
    assert "Traceback" not in own_daphne.log.read_text()


def raw_upgrade(url, origin):
    """A socket past the websocket handshake, to misbehave on by hand."""
    parts = urlsplit(url)
    raw = socket.create_connection((parts.hostname, parts.port), timeout=10)
    raw.sendall(
        f"GET /ws/echo/ HTTP/1.1\r\nHost: {parts.netloc}\r\nOrigin: {origin}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode()
    )
    assert raw.recv(4096).startswith(b"HTTP/1.1 101 ")
    return raw


def test_vanishing_clients_leave_no_error_and_no_stuck_task(own_daphne):
    parts = urlsplit(own_daphne.url)
    # Gone in the middle of the handshake.
    with socket.create_connection((parts.hostname, parts.port)) as raw:
        raw.sendall(b"GET /ws/echo/ HTTP/1.1\r\nHost: localhost\r\nUpgrade: webs")
    # Gone in the middle of a message: a masked text frame of 4096 bytes, cut short.
    with raw_upgrade(own_daphne.url, own_daphne.url) as raw:
        raw.sendall(b"\x81\xfe\x10\x00" + b"mask" + b"only part of it")
    # Gone without a closing handshake, right after one echo.
    with raw_upgrade(own_daphne.url, own_daphne.url) as raw:
        raw.sendall(b"\x81\x82" + b"\x00\x00\x00\x00" + b"hi")
        assert raw.recv(64) == b"\x81\x02hi"
    time.sleep(1)  # daphne notices the lost connections

    own_daphne.process.terminate()
    own_daphne.process.wait(timeout=10)

    log = own_daphne.log.read_text()
    assert "Killed 0 pending application instances" in log
    assert "Traceback" not in log
    assert "ERROR" not in log


def test_many_clients_each_get_their_own_echoes(own_daphne):
    async def client(number):
        async with open_socket(own_daphne.url, "/ws/echo/") as socket:
            sent = [f"client {number}, message {i}" for i in range(5)]
            for message in sent:
                await socket.send(message)
            return sent == [await socket.recv() for _ in sent]

    async def crowd():
        return await asyncio.gather(*(client(number) for number in range(60)))

    assert asyncio.run(crowd()) == [True] * 60
    assert "Traceback" not in own_daphne.log.read_text()
