"""Background tasks: the guestbook's POST with its mail queued (the tasks bake)
against the same POST without (the database bake); how many mails a second one
worker and two send through a real SMTP server; and how long a mail waits in
the queue while entries come at a steady rate. On SQLite and on PostgreSQL."""

import asyncio
import json
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager

from clients import guestbook_post, percentiles_ms, python_http_load, steady_posts
from contenders import Contender
from helpers import (
    Inbox,
    clean_env,
    free_port,
    postgres_cluster,
    postgres_program,
    serving_postgres,
    smtp_server,
    stop,
)
from report import ratio, table
from scenarios import Scenario, in_turn

POST_CONNECTIONS = 8  # SQLite takes one write at a time: more only queue
STEADY = 10  # entries a second, well within one worker's pace
# Queue a mail for each of %d new entries, in one transaction.
QUEUE = """
from django.db import transaction
import app
with transaction.atomic():
    for entry in app.Entry.objects.bulk_create(
        app.Entry(name=f"Guest {n}", message="Hello") for n in range(%d)
    ):
        app.tell_the_admins.enqueue(entry.pk)
"""
EMPTY = """
from django_tasks_db.models import DBTaskResult
DBTaskResult.objects.all().delete()
"""
# The queue as the database saw it (then emptied): each task's times, in seconds.
TIMES = """
import json
from django_tasks_db.models import DBTaskResult
tasks = DBTaskResult.objects.all()
print(json.dumps([
    [t.status, t.enqueued_at.timestamp(), t.started_at.timestamp(),
     t.finished_at.timestamp()] for t in tasks
]))
tasks.delete()
"""


class Tasks(Scenario):
    name = "tasks"

    def __init__(self, bench):
        super().__init__(bench)
        self.plain = bench.bake(database=True)
        self.tasks = bench.bake(database=True, tasks=True)
        smtp = free_port()
        bench.stack.enter_context(smtp_server(Sink(), smtp))
        self.mail = {"EMAIL_URL": f"smtp://127.0.0.1:{smtp}", "DJANGO_ADMINS": "a@b.c"}
        self.databases = {"sqlite": f"sqlite:///{bench.work / 'tasks.sqlite3'}"}
        if postgres_program("initdb"):
            cluster = postgres_cluster()
            bench.stack.callback(shutil.rmtree, cluster)
            log = bench.work / "tasks-postgres.log"
            postgres = bench.stack.enter_context(serving_postgres(cluster, log))
            url = f"postgres://postgres@127.0.0.1:{postgres.port}/postgres"
            self.databases["postgres"] = url
        for url in self.databases.values():
            self.manage(self.tasks, url, "migrate", "-v0")

    def env(self, url):
        return clean_env(**self.bench.production, **self.mail, DATABASE_URL=url)

    def manage(self, project, url, *command):
        """`python app.py command` in project, on the database at url: its output."""
        return subprocess.run(
            [sys.executable, "app.py", *command],
            cwd=project,
            env=self.env(url),
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def shell(self, url, code):
        """Run code in the tasks bake's `python app.py shell`: its output."""
        return self.manage(self.tasks, url, "shell", "--no-imports", "-c", code)

    def round(self, number):
        for engine, url in self.databases.items():
            self.posts(number, engine, url)
            for workers in in_turn([1, 2], number):
                self.throughput(number, engine, url, workers)
            self.steady(number, engine, url)

    def posts(self, number, engine, url):
        bakes = [("without the task", self.plain), ("with the task", self.tasks)]
        for what, project in in_turn(bakes, number):
            name = f"POST {what}, {engine}"
            contender = Contender(name, project, "app:application", self.env(url))
            with contender.serving(self.bench.work) as server:
                request = guestbook_post(server.port)
                rps, p50, p99 = asyncio.run(
                    python_http_load(
                        server.port,
                        self.bench.args.seconds,
                        request,
                        status=302,
                        connections=POST_CONNECTIONS,
                    )
                )
            figures = {"rps": rps, "p50_ms": p50, "p99_ms": p99}
            self.record(number, name, figures, f"{rps:.0f} req/s")
        self.shell(url, EMPTY)

    def throughput(self, number, engine, url, workers):
        count = 40 * self.bench.args.seconds
        self.shell(url, QUEUE % count)
        with self.workers(url, workers, "--batch", "--no-startup-delay") as running:
            for process in running:  # --batch: until the queue is empty
                process.wait()
        times = self.finished_tasks(url, count)
        finished = sorted(t[3] for t in times)
        per_s = (count - 1) / (finished[-1] - finished[0])
        name = f"{workers} worker{'s' * (workers > 1)}, {engine}"
        self.record(number, name, {"tasks_per_s": per_s}, f"{per_s:.0f} tasks/s")

    def steady(self, number, engine, url):
        seconds = self.bench.args.seconds
        name = f"queue wait at {STEADY} entries/s, {engine}"
        contender = Contender(name, self.tasks, "app:application", self.env(url))
        with contender.serving(self.bench.work) as server, self.workers(url, 1):
            request = guestbook_post(server.port)
            asyncio.run(steady_posts(server.port, request, STEADY, seconds))
            time.sleep(3)  # the worker checks the queue every second when idle
        times = self.finished_tasks(url, STEADY * seconds)
        p50, p99 = percentiles_ms([started - queued for _, queued, started, _ in times])
        figures = {"wait_p50_ms": p50, "wait_p99_ms": p99}
        self.record(number, name, figures, f"p50 {p50:.0f} ms, p99 {p99:.0f} ms")

    @contextmanager
    def workers(self, url, count, *options):
        """`python app.py db_worker` as DEPLOY.md runs it, count times."""
        with ExitStack() as stack:
            running = []
            for _ in range(count):
                process = subprocess.Popen(
                    [sys.executable, "app.py", "db_worker", *options],
                    cwd=self.tasks,
                    env=self.env(url),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                stack.callback(stop, process)
                running.append(process)
            yield running

    def finished_tasks(self, url, count):
        """The times of the queue's `count` tasks, each run once (then emptied)."""
        times = json.loads(self.shell(url, TIMES))
        assert [t[0] for t in times] == ["SUCCESSFUL"] * count, times
        return times

    def results(self):
        contenders = super().results()["contenders"]
        ratios = {}
        for engine in self.databases:
            without = contenders[f"POST without the task, {engine}"]["rps"]
            with_task = contenders[f"POST with the task, {engine}"]["rps"]
            one = contenders[f"1 worker, {engine}"]["tasks_per_s"]
            two = contenders[f"2 workers, {engine}"]["tasks_per_s"]
            ratios[engine] = {"post": with_task / without, "workers": two / one}
        return {"contenders": contenders, "ratios": ratios}

    def report(self, results):
        rows = []
        for engine, ratios in results["ratios"].items():
            f = {
                name.removesuffix(f", {engine}"): figures
                for name, figures in results["contenders"].items()
                if name.endswith(f", {engine}")
            }
            wait = f[f"queue wait at {STEADY} entries/s"]
            rows.append(
                [
                    engine,
                    f"{f['POST without the task']['rps']:.0f}",
                    f"{f['POST with the task']['rps']:.0f}",
                    ratio(ratios["post"]),
                    f"{f['1 worker']['tasks_per_s']:.0f}",
                    f"{f['2 workers']['tasks_per_s']:.0f}",
                    ratio(ratios["workers"]),
                    f"{wait['wait_p50_ms']:.0f}",
                    f"{wait['wait_p99_ms']:.0f}",
                ]
            )
        header = ["<database", "POST/s without", "POST/s with", "with vs without"]
        header += ["mails/s, 1 worker", "2 workers", "2 vs 1"]
        header += ["queue wait p50 ms", "p99 ms"]
        return (
            f"Background tasks: the guestbook's POST ({POST_CONNECTIONS} connections) "
            "without and with its mail queued; mails a second through one worker "
            "and two (a real SMTP server); how long a mail waits in the queue at "
            f"{STEADY} entries a second (one worker, as deployed):\n\n"
            + table(header, rows)
        )


class Sink(Inbox):
    """A mail server that keeps nothing: the benchmark sends thousands."""

    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
