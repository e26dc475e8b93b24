"""Outages: how soon a site is back once what it depends on is back. PostgreSQL
stopped for a while under each websocket bake with a database: seconds from
its return to the first page answered 200 and to the first websocket with a
logged-in session accepted. Redis restarted under the Channels bake: seconds
from its return to the first chat message heard."""

import asyncio
import json
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus, WebSocketException

from contenders import Contender
from helpers import (
    REDIS,
    VIA_PROXY,
    clean_env,
    free_port,
    get,
    pg_ctl,
    postgres_cluster,
    postgres_program,
    serving,
    serving_postgres,
)
from report import table
from scenarios import Scenario, in_turn

PATIENCE = 60  # seconds for the site to be back
LOG_IN = (
    "from django.contrib.auth.models import User; from django.test import Client;"
    "client = Client(); "
    "client.force_login(User.objects.get_or_create(username='ada')[0]); "
    "print(client.cookies['sessionid'].value)"
)


class Outage(Scenario):
    name = "outage"
    needs = ["redis-server"]

    def __init__(self, bench):
        super().__init__(bench)
        self.contenders = [("Redis", bench.bake("channels"))]
        if postgres_program("initdb"):
            self.cluster = postgres_cluster()
            bench.stack.callback(shutil.rmtree, self.cluster)
            self.contenders += [
                (f"PostgreSQL, {websocket}", bench.bake(websocket, database=True))
                for websocket in ("asgi", "channels")
            ]

    def round(self, number):
        for name, project in in_turn(self.contenders, number):
            work = self.bench.work / f"outage-{number}-{name.replace(', ', '-')}"
            work.mkdir()
            back = (
                self.redis(project, work) if name == "Redis" else self.db(project, work)
            )
            summary = ", ".join(f"{k} {v:.2f} s" for k, v in back.items())
            self.record(number, name, back, summary)

    def db(self, project, work):
        """PostgreSQL stopped for --down seconds, while visitors ask for pages and
        open websockets: how soon those work again once it is back."""
        port = free_port()
        url = f"postgres://postgres@127.0.0.1:{port}/postgres"
        env = {**self.bench.production, "DATABASE_URL": url}
        with serving_postgres(self.cluster, work / "postgres.log", port):
            cookie = logged_in(project, clean_env(**env))
            site = Contender("outage", project, "app:application", env)
            with site.serving(work) as server:
                asked = self.asked(server, cookie)
                assert asked() == (200, True)
                pg_ctl(self.cluster, "stop")
                down_until = time.time() + self.bench.args.down
                while time.time() < down_until:  # visitors go on asking
                    asked()
                    time.sleep(1)
                with serving_postgres(self.cluster, work / "again.log", port):
                    returned = time.time()
                    page = until(lambda: asked()[0] == 200)
                    socket = until(lambda: asked()[1])
        return {"first_200_s": page - returned, "first_socket_s": socket - returned}

    @staticmethod
    def asked(server, cookie):
        """What a visitor asks of the site: (a page's status, whether a
        websocket with the session was accepted)."""
        return lambda: (
            get(server.url, headers=VIA_PROXY)[0],
            asyncio.run(accepted(server.url, cookie)),
        )

    def redis(self, project, work):
        """Redis restarted after --down seconds: how soon chat works again."""
        port = free_port()
        env = {**self.bench.production, "REDIS_URL": f"redis://127.0.0.1:{port}"}
        site = Contender("outage", project, "app:application", env)
        with ExitStack() as redis, site.serving(work) as server:
            redis.enter_context(serving(REDIS, work, work / "redis.log", port=port))
            assert asyncio.run(chatted(server.url))
            redis.close()
            time.sleep(self.bench.args.down)
            with serving(REDIS, work, work / "redis.log", port=port):
                returned = time.time()
                chat = until(lambda: asyncio.run(chatted(server.url)))
        return {"first_chat_s": chat - returned}

    def results(self):
        return {**super().results(), "down": self.bench.args.down}

    def report(self, results):
        rows = [
            [
                name,
                cell(f, "first_200_s"),
                cell(f, "first_socket_s"),
                cell(f, "first_chat_s"),
            ]
            for name, f in results["contenders"].items()
        ]
        header = ["<out", "first 200 s", "first socket s", "first chat s"]
        return (
            "Outages: seconds from the return of what was out (PostgreSQL "
            f"stopped, Redis restarted; {results['down']} s) until it works again "
            "(a page answered 200, a websocket with a logged-in session "
            "accepted, a chat message heard):\n\n" + table(header, rows)
        )


def logged_in(project, env):
    """The session cookie of a user logged in on env's database (migrated)."""
    for command in (["migrate", "-v0"], ["shell", "--no-imports", "-c", LOG_IN]):
        done = subprocess.run(
            [sys.executable, "app.py", *command],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return done.stdout.strip()


def cell(figures, key):
    return f"{figures[key]:.2f}" if key in figures else ""


def until(works):
    """The time.time() at which works() first returns true (tried every 0.05 s)."""
    deadline = time.time() + PATIENCE
    while not works():
        assert time.time() < deadline, "not back within PATIENCE"
        time.sleep(0.05)
    return time.time()


async def accepted(url, cookie):
    """Whether a websocket with the session cookie is accepted and echoes."""
    try:
        async with connect(
            url.replace("http", "ws", 1) + "/ws/echo/",
            origin=url,
            additional_headers={"Cookie": f"sessionid={cookie}"},
        ) as socket:
            await socket.send("Hello")
            return await socket.recv() == "Hello"
    except (InvalidStatus, WebSocketException, OSError):
        return False


async def chatted(url):
    """Whether a chat message said in a room is heard there."""
    room = url.replace("http", "ws", 1) + "/ws/chat/outage/"
    try:
        async with connect(room, origin=url) as one, connect(room, origin=url) as two:
            await one.send(json.dumps({"message": "Back"}))
            heard = await asyncio.wait_for(two.recv(), 10)
            return json.loads(heard) == {"message": "Back"}
    except (InvalidStatus, WebSocketException, OSError, TimeoutError):
        return False
