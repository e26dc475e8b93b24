"""The default bake's greeting, and the database bake's guestbook page (20
entries listed, SQLite), against the same pages as nanodjango apps
(bench/reference/nano_*.py) served as nanodjango's docs say: `nanodjango
serve`, which runs uvicorn."""

import shutil
import subprocess
import sys

from contenders import BIN, REFERENCE, Contender
from helpers import clean_env
from report import table
from scenarios import Scenario, in_turn
from scenarios.guestbook import SEED
from scenarios.http import compare, load_cells, measure


class Nanodjango(Scenario):
    name = "nanodjango"

    def __init__(self, bench):
        super().__init__(bench)
        nano = bench.work / "nanodjango"
        nano.mkdir()
        for script in ("nano_hello.py", "nano_guestbook.py"):
            shutil.copy(REFERENCE / script, nano)
        baked = bench.bake(database=True)
        env = {**bench.production, "DATABASE_URL": f"sqlite:///{nano / 'bake.db'}"}
        seed(baked, env, [sys.executable, "app.py"], "app")
        manage = [BIN / "nanodjango", "manage", "nano_guestbook.py"]
        seed(nano, bench.production, manage, "nano_guestbook")
        production, server = bench.production, "nanodjango"
        self.contenders = [
            bench.template("template (default)"),
            Contender("nanodjango", nano, "nano_hello.py", production, server),
            Contender("template guestbook", baked, "app:application", env),
            Contender(
                "nanodjango guestbook", nano, "nano_guestbook.py", production, server
            ),
        ]

    def round(self, number):
        # nanodjango's pages take over a second each under this load: 3 s at least
        seconds = max(3, self.bench.args.seconds)
        for contender in in_turn(self.contenders, number):
            figures = measure(contender, self.bench, seconds)
            self.record(number, contender.name, figures, f"{figures['rps']:.0f} req/s")

    def results(self):
        contenders = super().results()["contenders"]
        for name, figures in contenders.items():
            baseline = "nanodjango guestbook" if "guestbook" in name else "nanodjango"
            compare(figures, contenders[baseline], "nanodjango")
        return {"contenders": contenders}

    def report(self, results):
        rows = [
            [name, *load_cells(f, "nanodjango")]
            for name, f in results["contenders"].items()
        ]
        header = ["<contender", "requests/s", "vs nanodjango", "p50 ms", "p99 ms"]
        header += ["p99 vs nanodjango"]
        return (
            "The greeting, and the guestbook page (20 entries, SQLite), against "
            "the same pages as nanodjango apps (`nanodjango serve`: uvicorn):\n\n"
            + table(header, rows)
        )


def seed(cwd, env, manage, module):
    """Migrate a guestbook (manage: its manage.py command) and give it 20 entries."""
    entries = SEED.replace("app", module, 1)  # from <module> import Entry
    steps = [["migrate", "-v0"], ["shell", "--no-imports", "-c", entries]]
    if module != "app":  # a nanodjango app ships no migrations: make them first
        steps.insert(0, ["makemigrations", module, "-v0"])
    for step in steps:
        command = [*map(str, manage), *step]
        subprocess.run(command, cwd=cwd, env=clean_env(**env), check=True)
