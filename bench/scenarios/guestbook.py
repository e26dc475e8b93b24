"""The database bake's guestbook page (20 entries listed), async as baked,
against the same page as a sync view (bench/reference/guestbook_sync.py), on
SQLite and on a PostgreSQL server of the benchmark's own."""

import shutil
import subprocess
import sys

from contenders import REFERENCE, Contender
from helpers import (
    clean_env,
    postgres_cluster,
    postgres_program,
    serving_postgres,
)
from report import table
from scenarios import Scenario, in_turn
from scenarios.http import compare, load_cells, measure

SEED = (
    "from app import Entry; Entry.objects.all().delete(); "
    "Entry.objects.bulk_create(Entry(name=f'Guest {n}', message='Hello, "
    "benchmark!') for n in range(20))"
)


class Guestbook(Scenario):
    name = "guestbook"

    def __init__(self, bench):
        super().__init__(bench)
        project = bench.bake(database=True)
        shutil.copy(REFERENCE / "guestbook_sync.py", project)
        urls = [f"sqlite:///{bench.work / 'guestbook.sqlite3'}"]
        if postgres_program("initdb"):
            cluster = postgres_cluster()
            bench.stack.callback(shutil.rmtree, cluster)
            log = bench.work / "postgres.log"
            postgres = bench.stack.enter_context(serving_postgres(cluster, log))
            urls.append(f"postgres://postgres@127.0.0.1:{postgres.port}/postgres")
        self.contenders = [
            contender for url in urls for contender in self.pair(project, url)
        ]

    def pair(self, project, database_url):
        """The async and the sync page, on one database that holds 20 entries."""
        env = {**self.bench.production, "DATABASE_URL": database_url}
        for command in (["migrate", "-v0"], ["shell", "--no-imports", "-c", SEED]):
            subprocess.run(
                [sys.executable, "app.py", *command],
                cwd=project,
                env=clean_env(**env),
                check=True,
            )
        engine = database_url.partition(":")[0]
        return [
            Contender(f"guestbook async, {engine}", project, "app:application", env),
            Contender(
                f"guestbook sync, {engine}", project, "guestbook_sync:application", env
            ),
        ]

    def round(self, number):
        for contender in in_turn(self.contenders, number):
            figures = measure(contender, self.bench)
            self.record(number, contender.name, figures, f"{figures['rps']:.0f} req/s")

    def results(self):
        contenders = super().results()["contenders"]
        for name, figures in contenders.items():
            compare(figures, contenders[name.replace("async", "sync")], "sync")
        return {"contenders": contenders}

    def report(self, results):
        rows = [
            [name, *load_cells(f, "sync")] for name, f in results["contenders"].items()
        ]
        header = ["<contender", "requests/s", "vs sync", "p50 ms", "p99 ms"]
        return (
            "The database bake's guestbook page (20 entries listed), async as "
            "baked against the same page as a sync view:\n\n"
            + table([*header, "p99 vs sync"], rows)
        )
