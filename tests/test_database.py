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
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from urllib.parse import urlencode

import pytest

from helpers import (
    DAPHNE,
    PRODUCTION_ENV,
    VIA_PROXY,
    clean_env,
    get,
    open_socket,
    pg_ctl,
    production_copy,
    serving,
    serving_postgres,
    wait_for_log,
)

ENV = clean_env(**PRODUCTION_ENV)


@pytest.fixture(scope="module")
def project(bake, tmp_path_factory):
    """A deployed copy (no .env) of a bake with Channels and a database, with
    its static files collected."""
    baked = bake({"debug": False, "websocket": "channels", "database": True})
    where = tmp_path_factory.mktemp("guestbook") / "project"
    project = production_copy(baked.project_path, where)
    collect = [sys.executable, "app.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(collect, cwd=project, env=ENV, check=True)
    return project


def guestbook(project, log, env=ENV):
    """daphne serving project (on a SQLite file beside log, unless env names
    another DATABASE_URL), as a context manager yielding a Server."""
    return serving(DAPHNE, project, log, env=env)


class Visitor:
    """A browser's part in the guestbook: its CSRF cookie and the form's token."""

    def __init__(self, server):
        self.url = server.url
        status, headers, body = get(self.url, headers=VIA_PROXY)
        assert status == 200, body
        self.cookie = headers["Set-Cookie"].partition(";")[0]
        self.token = re.search(rb'name="csrfmiddlewaretoken" value="(\w+)"', body)[1]

    def sign(self, name, message):
        """Post the form; return the response's status and Location."""
        form = {"csrfmiddlewaretoken": self.token, "name": name, "message": message}
        headers = {
            **VIA_PROXY,
            "Cookie": self.cookie,
            "Origin": f"https://{self.url.partition('://')[2]}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        status, response_headers, _ = get(
            self.url, method="POST", headers=headers, body=urlencode(form)
        )
        return status, response_headers.get("Location")


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
    assert "Unapplied migrations" not in log


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
        echo = asyncio.run(echo_over_websocket(server.url))
        log_while_down = server.log.read_text()
        with serving_postgres(data, tmp_path / "again.log", port=port):
            after = get(server.url, headers=VIA_PROXY)[0]

    assert (before, down_status, after) == (200, 503, 200)
    assert down_headers["Retry-After"] == "10"
    assert down_page == b"<!doctype html><title>Unavailable</title><p>Back in a moment."
    assert echo == "Still here"
    assert "Traceback" not in log_while_down
    errors = [line for line in log_while_down.splitlines() if " ERROR " in line]
    assert len(errors) == 1
    assert errors[0].endswith(
        "ERROR    Database unavailable: couldn't get a connection after 5.00 sec"
    )


async def echo_over_websocket(url):
    # Origin and Host as a browser behind the TLS proxy sends them.
    async with open_socket(url, "/ws/echo/") as socket:
        await socket.send("Still here")
        return await socket.recv()
