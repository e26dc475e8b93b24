"""Channels rooms, and the live guestbook, on a real Redis."""

import asyncio
import json
import time
from contextlib import AsyncExitStack, ExitStack, contextmanager

import pytest
import redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus

from helpers import (
    DAPHNE,
    PRODUCTION_ENV,
    VIA_PROXY,
    Visitor,
    clean_env,
    free_port,
    get,
    production_copy,
    redis_server,
    serving,
    wait_for_log,
)


@contextmanager
def daphne_on(baked, redis_url, where, name):
    project = where / f"project-{name}"
    if not project.exists():
        production_copy(baked.project_path, project)
    env = clean_env(**PRODUCTION_ENV, REDIS_URL=redis_url)
    with serving(DAPHNE, project, where / f"daphne-{name}.log", env=env) as server:
        yield server


def member(server, room, path="/ws/chat/{room}/"):
    """A websocket to a chat room (or to path), connected as a browser on that
    site would; it answers daphne's pings, and sends none of its own."""
    host = server.url.removeprefix("http://")
    url = f"ws://{host}{path.format(room=room)}"
    return connect(url, origin=server.url, ping_interval=None)


async def hears_nothing(socket):
    try:
        await asyncio.wait_for(socket.recv(), timeout=0.5)
    except TimeoutError:
        return True
    return False


def test_a_room_spans_two_daphne_processes(deployed_channels, tmp_path):
    with (
        redis_server(tmp_path) as (redis_url, _),
        daphne_on(deployed_channels, redis_url, tmp_path, "one") as one,
        daphne_on(deployed_channels, redis_url, tmp_path, "two") as two,
    ):

        async def talk():
            async with (
                member(one, "tea") as alice,
                member(two, "tea") as bob,
                member(two, "coffee") as carol,
            ):
                await alice.send(json.dumps({"message": "Across processes"}))
                heard = [json.loads(await bob.recv()), json.loads(await alice.recv())]
                return heard, await hears_nothing(carol)

        heard, carol_heard_nothing = asyncio.run(talk())

    assert heard == [{"message": "Across processes"}] * 2
    assert carol_heard_nothing is True
    for log in tmp_path.glob("daphne-*.log"):
        assert "Traceback" not in log.read_text()


def test_chat_survives_a_redis_outage_without_a_restart(deployed_channels, tmp_path):
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"

    async def chat_once(server):
        async with member(server, "tea") as alice, member(server, "tea") as bob:
            await alice.send(json.dumps({"message": "Still here"}))
            return json.loads(await bob.recv())

    async def chat_while_redis_is_down(server):
        try:
            async with member(server, "tea") as alice:
                await alice.recv()
        except InvalidStatus as refusal:
            return refusal.response.status_code
        except ConnectionClosedError as closed:
            return closed.rcvd.code
        return None

    async def echo_twice_while_redis_is_down(server):
        """The echo needs no rooms: it works, also past the heartbeat's beats."""
        async with member(server, "", path="/ws/echo/") as socket:
            heard = []
            for _ in range(2):
                await socket.send("Still here")
                heard.append(await socket.recv())
                await asyncio.sleep(2.5)
        return heard

    async def chat_again(server):
        """Chat as soon as Redis is back: the first try works."""
        return await chat_once(server)

    async def held_while_redis_goes(server, redis):
        """A member in the room when Redis goes: how the app closes it."""
        async with member(server, "tea") as carol:
            await carol.send(json.dumps({"message": "Still here"}))
            heard = json.loads(await carol.recv())
            await asyncio.to_thread(redis.close)
            with pytest.raises(ConnectionClosedError) as closed:
                await asyncio.wait_for(carol.recv(), timeout=10)
        return heard, closed.value.rcvd.code

    with daphne_on(deployed_channels, redis_url, tmp_path, "one") as server:
        with ExitStack() as redis:
            redis.enter_context(redis_server(tmp_path, port))
            before, close_code = asyncio.run(held_while_redis_goes(server, redis))
        # Redis is gone: HTTP goes on, chat fails cleanly.
        http_status, _, _ = get(server.url, headers=VIA_PROXY)
        chat_refused = asyncio.run(chat_while_redis_is_down(server))
        echoed = asyncio.run(echo_twice_while_redis_is_down(server))
        with redis_server(tmp_path, port):
            after = asyncio.run(chat_again(server))
            # No application instance may be left stuck by the outage (daphne
            # looks for finished ones every second).
            time.sleep(2)
            server.process.terminate()
            server.process.wait(timeout=10)

    log = server.log.read_text()
    assert before == after == {"message": "Still here"}
    assert close_code == 4011  # the app's own code: the channel layer is gone
    assert http_status == 200
    assert chat_refused == 403  # closed before it was accepted
    assert echoed == ["Still here"] * 2
    assert "WARNING  Websocket /ws/chat/tea/ closed: Redis: Error " in log
    assert "Traceback" not in log
    assert "Killed 0 pending application instances" in log


@pytest.mark.parametrize("kill_clients", [True, False], ids=["killed", "quiet"])
def test_after_redis_forgets_the_rooms_no_open_socket_is_left_deaf(
    deployed_channels, tmp_path, kill_clients
):
    """Redis forgets the rooms, as a restart faster than the consumers notice
    does: with their connections dropped, or without a word (then the process's
    heartbeat finds out). Every member is closed, so that its page joins the
    room again; none stays open hearing nothing."""

    async def across_a_reset(server, reset):
        async with AsyncExitStack() as stack:
            room = [
                await stack.enter_async_context(member(server, "tea")) for _ in range(8)
            ]
            await asyncio.to_thread(reset)
            fates = []
            for socket in room:  # the heartbeat looks every second
                try:
                    fates.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
                except ConnectionClosed as closed:
                    fates.append(closed.rcvd.code)
                except TimeoutError:
                    fates.append("deaf")
            async with member(server, "tea") as late:  # as a page that rejoins
                await late.send(json.dumps({"message": "After"}))
                heard_by_late = json.loads(await late.recv())
        return heard_by_late, fates

    with (
        redis_server(tmp_path) as (redis_url, _),
        daphne_on(deployed_channels, redis_url, tmp_path, "one") as server,
    ):
        client = redis.Redis.from_url(redis_url)

        def reset():
            client.flushall()
            if kill_clients:
                client.client_kill_filter(_type="normal")  # all but this one

        heard_by_late, fates = asyncio.run(across_a_reset(server, reset))
        client.close()

    assert heard_by_late == {"message": "After"}
    assert fates == [4011] * 8
    assert "Traceback" not in server.log.read_text()


async def entry_shown_live(server, name):
    """Open an index page's live list, sign the guestbook as name, and return
    the entry the page is sent (None if none comes within 5 s)."""
    own = server.url.replace("http", "https", 1)  # behind the TLS proxy
    async with connect(
        server.url.replace("http", "ws", 1) + "/ws/guestbook/",
        origin=own,
        additional_headers=VIA_PROXY,
    ) as page:
        signed = await asyncio.to_thread(Visitor(server).sign, name, "Hello")
        assert signed == (302, "/")
        try:
            return json.loads(await asyncio.wait_for(page.recv(), timeout=5))
        except TimeoutError:
            return None


def test_the_live_guestbook_survives_a_redis_outage(bake, tmp_path):
    baked = bake({"debug": False, "websocket": "channels", "database": True})
    project = production_copy(baked.project_path, tmp_path / "project")
    port = free_port()
    env = clean_env(**PRODUCTION_ENV, REDIS_URL=f"redis://127.0.0.1:{port}/0")
    log = tmp_path / "daphne.log"

    with serving(DAPHNE, project, log, env=env) as server:
        with redis_server(tmp_path, port):
            before = asyncio.run(entry_shown_live(server, "Before"))
        during = Visitor(server).sign("During", "the outage")
        warned = wait_for_log(log, " WARNING  Guestbook entry not shown live: Redis: ")
        with redis_server(tmp_path, port):
            after = asyncio.run(entry_shown_live(server, "After"))
        _, _, page = get(server.url, headers=VIA_PROXY)

    assert before == {"id": 1, "name": "Before", "message": "Hello"}
    assert during == (302, "/")
    assert warned.count("Guestbook entry not shown live") == 1
    assert after == {"id": 3, "name": "After", "message": "Hello"}
    assert b"<b>During</b>: the outage" in page  # saved all along
    assert "Traceback" not in log.read_text()


# Past redis-py's 5 s reads, and daphne's pings (every 20 s, 30 s to answer).
QUIET = 65  # seconds


def test_quiet_sockets_still_chat_and_show_entries(bake, tmp_path):
    """A minute without a word, on two daphne processes sharing Redis."""
    baked = bake({"debug": False, "websocket": "channels", "database": True})

    async def quiet_then_live(one, two):
        async with (
            member(one, "tea") as ada,
            member(two, "tea") as bea,
            member(one, "", "/ws/guestbook/") as page_one,
            member(two, "", "/ws/guestbook/") as page_two,
        ):
            await asyncio.sleep(QUIET)
            await ada.send(json.dumps({"message": "Still here"}))
            heard = [json.loads(await s.recv()) for s in (ada, bea)]
            signed = await asyncio.to_thread(Visitor(two).sign, "Ada", "a minute on")
            shown = [json.loads(await page.recv()) for page in (page_one, page_two)]
        return heard, signed, shown

    with (
        redis_server(tmp_path) as (redis_url, _),
        daphne_on(baked, redis_url, tmp_path, "one") as one,
        daphne_on(baked, redis_url, tmp_path, "two") as two,
    ):
        heard, signed, shown = asyncio.run(
            asyncio.wait_for(quiet_then_live(one, two), QUIET + 30)
        )

    assert heard == [{"name": "anonymous", "message": "Still here"}] * 2
    assert signed == (302, "/")
    assert shown == [{"id": 1, "name": "Ada", "message": "a minute on"}] * 2
    for log in tmp_path.glob("daphne-*.log"):
        text = log.read_text()
        assert " closed: " not in text
        assert "Traceback" not in text
