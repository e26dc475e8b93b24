"""The guestbook of a bake with a database, served by real daphne processes on
SQLite and on a real PostgreSQL: no acknowledged entry is ever lost."""

import asyncio
import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pexpect
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from helpers import (
    DAPHNE,
    PRODUCTION_ENV,
    VIA_PROXY,
    Visitor,
    clean_env,
    get,
    open_socket,
    pg_ctl,
    production_copy,
    run,
    serving,
    serving_postgres,
    wait_for_log,
)
from readme import JSON_ENDPOINT, add_view, section

ENV = clean_env(**PRODUCTION_ENV)


@pytest.fixture(scope="module")
def project(bake, tmp_path_factory):
    """A deployed copy (no .env) of a bake with Channels and a database, with
    its static files collected, and the README's JSON endpoint added."""
    baked = bake({"debug": False, "websocket": "channels", "database": True})
    where = tmp_path_factory.mktemp("guestbook") / "project"
    project = production_copy(baked.project_path, where)
    readme = (baked.project_path / "README.md").read_text()
    app_py = project / "app.py"
    app_py.write_text(add_view(app_py.read_text(), section(readme, JSON_ENDPOINT)))
    collect = [sys.executable, "app.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(collect, cwd=project, env=ENV, check=True)
    return project


def guestbook(project, log, env=ENV):
    """daphne serving project (on a SQLite file beside log, unless env names
    another DATABASE_URL), as a context manager yielding a Server."""
    return serving(DAPHNE, project, log, env=env)


def entries(database):
    """Every (name, message) in the SQLite file, read directly."""
    with closing(sqlite3.connect(database)) as connection:
        return set(connection.execute("SELECT name, message FROM app_entry"))


def test_fifty_concurrent_posts_all_land(project, tmp_path):
    with guestbook(project, tmp_path / "daphne.log") as server:
        visitor = Visitor(server)
        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(
                pool.map(lambda n: visitor.sign("Guest", f"Entry {n}"), range(50))
            )

    assert answers == [(302, "/")] * 50
    assert entries(tmp_path / "db.sqlite3") == {
        ("Guest", f"Entry {n}") for n in range(50)
    }
    log = server.log.read_text()
    assert "database is locked" not in log
    assert "Traceback" not in log


def test_kill_9_loses_no_acknowledged_write(project, tmp_path):
    acknowledged = []
    with guestbook(project, tmp_path / "first.log") as server:
        visitor = Visitor(server)

        def write_until_refused():
            for n in range(10_000):
                try:
                    answer = visitor.sign("Writer", f"Write {n}")
                except OSError:  # the server is gone
                    return
                assert answer == (302, "/")
                acknowledged.append(("Writer", f"Write {n}"))

        writer = threading.Thread(target=write_until_refused)
        writer.start()
        while len(acknowledged) < 30 and writer.is_alive():
            writer.join(0.01)
        server.process.send_signal(signal.SIGKILL)
        writer.join()

    with guestbook(project, tmp_path / "second.log"):
        with closing(sqlite3.connect(tmp_path / "db.sqlite3")) as connection:
            integrity = connection.execute("PRAGMA integrity_check").fetchall()
        saved = entries(tmp_path / "db.sqlite3")

    assert integrity == [("ok",)]
    assert set(acknowledged) <= saved
    assert len(acknowledged) >= 30


def test_a_restart_keeps_every_entry(project, tmp_path):
    with guestbook(project, tmp_path / "first.log") as first:
        visitor = Visitor(first)
        for n in range(3):
            visitor.sign("Before", f"Restart {n}")
    # serving() stops daphne with SIGTERM, as systemd does.
    with guestbook(project, tmp_path / "second.log") as second:
        _, _, page = get(second.url, headers=VIA_PROXY)

    assert (first.process.returncode, second.process.returncode) == (0, 0)
    assert re.findall(rb"<b>Before</b>: (Restart \d)", page) == [
        b"Restart 2",
        b"Restart 1",
        b"Restart 0",
    ]


def test_serves_the_admins_collected_static_files(project, tmp_path):
    with guestbook(project, tmp_path / "daphne.log") as server:
        _, _, login = get(server.url, "/admin/login/", headers=VIA_PROXY)
        css = re.search(rb'href="(/static/admin/css/base\.\w{12}\.css)"', login)[1]
        status, headers, _ = get(
            server.url,
            css.decode(),
            headers={**VIA_PROXY, "Accept-Encoding": "gzip"},
        )

    assert status == 200
    assert headers["Content-Type"] == 'text/css; charset="utf-8"'
    assert headers["Content-Encoding"] == "gzip"
    assert "immutable" in headers["Cache-Control"]


LOG_IN = """
import app
from django.contrib.auth.models import User
from django.test import Client
user, _ = User.objects.get_or_create(username="ada")
client = Client()
client.force_login(user)
print(client.cookies["sessionid"].value)
"""


async def chat_as(url, cookie, origin):
    """Say hello in a chat room with a session cookie, from an Origin: what the
    room hears, or the HTTP status of a refusal."""
    try:
        async with connect(
            url.replace("http", "ws", 1) + "/ws/chat/tea/",
            origin=origin,
            additional_headers={"Cookie": f"sessionid={cookie}", **VIA_PROXY},
        ) as socket:
            await socket.send(json.dumps({"message": "Hello"}))
            return json.loads(await socket.recv())
    except InvalidStatus as refusal:
        return refusal.response.status_code


def test_a_session_cookie_opens_a_websocket_only_from_the_site_itself(
    project, tmp_path
):
    env = ENV | {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    with guestbook(project, tmp_path / "daphne.log", env) as server:
        login = [sys.executable, "-c", LOG_IN]
        cookie = subprocess.run(
            login, cwd=project, env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        own = f"https://127.0.0.1:{server.port}"  # behind the TLS proxy
        heard = {
            origin: asyncio.run(chat_as(server.url, cookie, origin))
            for origin in [
                own,
                "https://evil.example",
                f"https://127.0.0.1:{server.port + 1}",
                f"http://127.0.0.1:{server.port}",
            ]
        }
        log = server.log.read_text()

    assert heard == {
        own: {"name": "ada", "message": "Hello"},
        "https://evil.example": 403,
        f"https://127.0.0.1:{server.port + 1}": 403,
        f"http://127.0.0.1:{server.port}": 403,
    }
    assert f"refused: Origin https://evil.example is not this site ({own})\n" in log
    assert log.count(" WARNING  Websocket /ws/chat/tea/ refused: ") == 3


def test_createsuperuser_refuses_a_weak_password_at_its_prompt(project, tmp_path):
    env = ENV | {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    run(sys.executable, "app.py", "migrate", "-v0", cwd=project, env=env)
    child = pexpect.spawn(
        sys.executable,
        ["app.py", "createsuperuser"],
        cwd=str(project),
        env=env | {"DJANGO_COLORS": "nocolor"},  # a terminal, but plain text
        encoding="utf-8",
        timeout=60,
    )
    for prompt, answer in [
        ("Username", "admin"),
        ("Email address", "admin@example.com"),
        ("Password:", "1"),
        (r"Password \(again\):", "1"),
    ]:
        child.expect(prompt)
        child.sendline(answer)
    child.expect(r"Bypass password validation and create user anyway\? \[y/N\]: ")
    refusal = child.before
    child.sendline("N")
    child.expect("Password:")
    child.close(force=True)

    assert refusal.split("\r\n")[1:-1] == [
        "This password is too short. It must contain at least 8 characters.",
        "This password is too common.",
        "This password is entirely numeric.",
    ]


def test_collected_files_are_served_after_a_restart(project, tmp_path):
    # README: daphne reads the list of collected files when it starts.
    copy = shutil.copytree(project, tmp_path / "project")
    with guestbook(copy, tmp_path / "before.log") as before:
        (copy / "static").mkdir()  # where Django finds the app's own files
        (copy / "static" / "site.css").write_text("h1 { color: teal; }\n")
        collect = [sys.executable, "app.py", "collectstatic", "--noinput", "-v0"]
        subprocess.run(collect, cwd=copy, env=ENV, check=True)
        manifest = json.loads((copy / "staticfiles" / "staticfiles.json").read_text())
        css = f"/static/{manifest['paths']['site.css']}"
        not_yet = get(before.url, css, headers=VIA_PROXY)[0]
    with guestbook(copy, tmp_path / "after.log") as after:
        status, _, body = get(after.url, css, headers=VIA_PROXY)
        admin = get(after.url, "/admin/login/", headers=VIA_PROXY)[0]

    assert not_yet == 404
    assert (status, body) == (200, b"h1 { color: teal; }\n")
    assert admin == 200  # collecting twice broke nothing


def without_migrations(project, tmp_path, debug):
    """daphne serving project on a database that was never migrated: the
    answer to "/", and the log."""
    database = tmp_path / "not-migrated.sqlite3"
    env = ENV | {"DJANGO_DEBUG": debug, "DATABASE_URL": f"sqlite:///{database}"}
    log = tmp_path / "daphne.log"
    with serving(DAPHNE, project, log, env=env, migrate=False) as server:
        answer = get(server.url, headers=VIA_PROXY)
        return answer, wait_for_log(log, " ERROR    Internal Server Error: /\n")


def test_without_migrations_debug_shows_the_cause(project, tmp_path):
    (status, _, page), log = without_migrations(project, tmp_path, debug="1")

    assert status == 500
    assert b"no such table" in page  # Django's debug page
    assert " ERROR    Unapplied migrations: run `python app.py migrate` " in log


def test_without_migrations_the_log_says_to_migrate(project, tmp_path):
    (status, headers, page), log = without_migrations(project, tmp_path, debug="0")

    assert status == 500
    assert "Retry-After" not in headers
    assert b"<h1>Server Error (500)</h1>" in page
    assert b"no such table" not in page
    assert (
        " ERROR    Unapplied migrations: run `python app.py migrate` "
        "(or `uv run app.py migrate`)\n"
    ) in log


# PostgreSQL: a real server of the tests' own, on a free port.


@pytest.fixture
def postgres_running(postgres, tmp_path):
    data, url, port = postgres
    with serving_postgres(data, tmp_path / "postgres.log", port=port):
        yield url


def test_two_daphnes_share_one_postgresql(project, postgres_running, tmp_path):
    env = ENV | {"DATABASE_URL": postgres_running}
    with (
        guestbook(project, tmp_path / "a.log", env) as a,
        guestbook(project, tmp_path / "b.log", env) as b,
    ):
        answer = Visitor(a).sign("Shared", "Posted to a, listed by b")
        _, _, page = get(b.url, headers=VIA_PROXY)

    assert answer == (302, "/")
    assert b"<b>Shared</b>: Posted to a, listed by b" in page


def test_survives_postgresql_going_away_and_coming_back(
    project, postgres, postgres_running, tmp_path
):
    data, _, port = postgres
    env = ENV | {"DATABASE_URL": postgres_running}
    with guestbook(project, tmp_path / "daphne.log", env) as server:
        before = get(server.url, headers=VIA_PROXY)[0]
        pg_ctl(data, "stop")
        down_status, down_headers, down_page = get(server.url, headers=VIA_PROXY)
        api_status, api_headers, api_body = get(server.url, "/api/hello/", VIA_PROXY)
        echo = asyncio.run(echo_over_websocket(server.url))
        log_while_down = server.log.read_text()
        with serving_postgres(data, tmp_path / "again.log", port=port):
            after = get(server.url, headers=VIA_PROXY)[0]

    assert (before, down_status, after) == (200, 503, 200)
    assert down_headers["Retry-After"] == "10"
    assert down_page == (
        b"<!doctype html><title>Unavailable</title>\n"
        b'<meta http-equiv="refresh" content="10"><p>Back in a moment: this page '
        b"tries again."
    )
    assert (api_status, api_headers["Content-Type"]) == (503, "application/json")
    assert api_headers["Retry-After"] == "10"
    assert json.loads(api_body) == {"error": "Service Unavailable"}
    assert echo == "Still here"
    assert "Traceback" not in log_while_down
    errors = [line for line in log_while_down.splitlines() if " ERROR " in line]
    assert len(errors) == 2  # the page, then the API
    for error in errors:
        assert error.endswith(
            "ERROR    Database unavailable: couldn't get a connection after 3.00 sec"
        )


async def echo_over_websocket(url):
    # Origin and Host as a browser behind the TLS proxy sends them.
    async with open_socket(url, "/ws/echo/") as socket:
        await socket.send("Still here")
        return await socket.recv()


# How each router logs a websocket it gives up on for the database: asgi's
# before accepting it, Channels' (in its consumers too) before or after.
GIVEN_UP = {"asgi": "refused", "channels": "closed"}


@pytest.fixture(scope="module", params=GIVEN_UP)
def sockets_project(request, bake, tmp_path_factory):
    """A deployed copy of each websocket bake with a database, and how it says
    it gave a websocket up."""
    baked = bake({"debug": False, "websocket": request.param, "database": True})
    where = tmp_path_factory.mktemp(request.param) / "project"
    return production_copy(baked.project_path, where), GIVEN_UP[request.param]


def logged_in(project, env):
    """The session cookie of a user logged in on the database env names."""
    login = [sys.executable, "-c", LOG_IN]
    return subprocess.run(
        login, cwd=project, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


async def with_session(url, cookie):
    """Open a websocket with a session cookie as a browser on the site would:
    "accepted" (once it echoed), or the HTTP status it was refused with."""
    try:
        async with open_socket(url, "/ws/echo/", cookie=cookie) as socket:
            await socket.send("Hello")
            await socket.recv()
            return "accepted"
    except InvalidStatus as refusal:
        return refusal.response.status_code


def timed(function, *args):
    """(what function(*args) returns, the seconds it took)."""
    started = time.monotonic()
    return function(*args), time.monotonic() - started


def seconds_until_accepted(url, cookie):
    """Seconds until a websocket with the session is accepted (up to 20)."""
    started = time.monotonic()
    while asyncio.run(with_session(url, cookie)) != "accepted":
        assert time.monotonic() - started < 20
        time.sleep(0.1)
    return time.monotonic() - started


def database_lines(log):
    """The log's lines about a database out of reach."""
    lines = log.read_text().splitlines()
    return [line for line in lines if "database" in line.lower()]


def test_a_logged_in_websocket_is_refused_while_postgresql_is_down_and_back_after(
    sockets_project, postgres, postgres_running, tmp_path
):
    (project, given_up), (data, _, port) = sockets_project, postgres
    env = ENV | {"DATABASE_URL": postgres_running}
    with guestbook(project, tmp_path / "daphne.log", env) as server:
        cookie = logged_in(project, env)
        before = asyncio.run(with_session(server.url, cookie))
        pg_ctl(data, "stop")
        down, down_seconds = timed(asyncio.run, with_session(server.url, cookie))
        logged = database_lines(server.log)
        with serving_postgres(data, tmp_path / "again.log", port=port):
            back_seconds = seconds_until_accepted(server.url, cookie)

    assert (before, down) == ("accepted", 403)
    assert down_seconds < 5  # answered within daphne's 5 s for a handshake
    assert back_seconds < 5
    assert [line.partition(",")[2][4:] for line in logged] == [
        f"WARNING  Websocket /ws/echo/ {given_up}: database: "
        "couldn't get a connection after 3.00 sec"
    ]
    assert "Traceback" not in server.log.read_text()


def test_after_postgresql_restarts_an_idle_process_serves_its_first_page(
    project, postgres, postgres_running, tmp_path
):
    # Busy before, so that the pool holds several connections, then idle while
    # PostgreSQL restarts: the restart breaks them all.
    data, _, port = postgres
    env = ENV | {"DATABASE_URL": postgres_running}
    with guestbook(project, tmp_path / "daphne.log", env) as server:
        with ThreadPoolExecutor(max_workers=8) as pool:
            busy = set(
                pool.map(lambda _: get(server.url, headers=VIA_PROXY)[0], range(40))
            )
        pg_ctl(data, "stop")
        with serving_postgres(data, tmp_path / "again.log", port=port):
            time.sleep(2)
            (status, _, _), seconds = timed(get, server.url, "/", VIA_PROXY)

    assert (busy, status) == ({200}, 200)
    assert seconds < 1
    assert database_lines(server.log) == []


def test_with_debug_on_a_postgresql_outage_costs_a_page_the_pools_timeout(
    project, postgres, postgres_running, tmp_path
):
    data, _, port = postgres
    env = ENV | {"DATABASE_URL": postgres_running, "DJANGO_DEBUG": "1"}
    with guestbook(project, tmp_path / "daphne.log", env) as server:
        pg_ctl(data, "stop")
        (status, _, _), seconds = timed(get, server.url, "/", VIA_PROXY)
        with serving_postgres(data, tmp_path / "again.log", port=port):
            after = get(server.url, headers=VIA_PROXY)[0]

    assert (status, after) == (503, 200)
    assert seconds < 4  # the pool's 3 s, and no more
    assert len(database_lines(server.log)) == 1


def test_a_logged_in_websocket_waits_out_an_unreachable_sqlite_file(
    sockets_project, tmp_path
):
    # SQLite's file out of reach, as on a volume that went away for a while.
    (project, given_up), folder = sockets_project, tmp_path / "data"
    folder.mkdir()
    env = ENV | {"DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}"}
    with guestbook(project, tmp_path / "daphne.log", env) as server:
        cookie = logged_in(project, env)
        before = asyncio.run(with_session(server.url, cookie))
        folder.rename(tmp_path / "away")
        down = asyncio.run(with_session(server.url, cookie))
        page = get(server.url, headers=VIA_PROXY)[0]
        (tmp_path / "away").rename(folder)
        after = asyncio.run(with_session(server.url, cookie))

    assert (before, down, page, after) == ("accepted", 403, 503, "accepted")
    assert [line.partition(",")[2][4:] for line in database_lines(server.log)] == [
        f"WARNING  Websocket /ws/echo/ {given_up}: database: "
        "unable to open database file",
        "ERROR    Database unavailable: unable to open database file",
    ]
    assert "Traceback" not in server.log.read_text()
