"""A soak: pages (1,000 by default) in one chat room on two daphne processes
sharing Redis, for minutes (--soak), with a chat message every second. A third
of the way in Redis restarts, two thirds in one daphne does, and every page
opens its socket again as the baked page does (tests/pages.py). It reports the
messages delivered, lost (not heard by a page that was open all along) and
missed while away, how long the pages were away after each restart, and the
memory of each daphne at the start and at the end.

It takes minutes, so it runs once per run, and only when asked for
(bash bench/run.sh --only soak).
"""

import asyncio
from contextlib import ExitStack

from clients import chat_soak, rss_kib, soak_figures
from contenders import Contender
from helpers import REDIS, free_port, serving, stop
from report import table
from scenarios import Scenario


class Soak(Scenario):
    name = "soak"
    needs = ["redis-server"]

    def __init__(self, bench):
        super().__init__(bench)
        self.project = bench.bake("channels")

    def round(self, number):
        if number:  # one soak per run: it takes minutes
            return
        args, work = self.bench.args, self.bench.work / "soak"
        work.mkdir()
        redis_port = free_port()
        env = {**self.bench.production, "REDIS_URL": f"redis://127.0.0.1:{redis_port}"}
        a, b = (Contender(n, self.project, "app:application", env) for n in "AB")
        with ExitStack() as redis, ExitStack() as daphnes:

            def start_redis():
                redis.enter_context(
                    serving(REDIS, work, work / "redis.log", port=redis_port)
                )

            def restart_redis():
                redis.close()
                start_redis()

            def restart_daphne():
                stop(servers[1].process, timeout=30)
                servers[1] = daphnes.enter_context(b.serving(work, servers[1].port))

            start_redis()
            servers = [daphnes.enter_context(c.serving(work)) for c in (a, b)]
            memory = {}

            def measure(when):
                return lambda: memory.update({when: [rss_kib(s) for s in servers]})

            seconds = args.soak
            events = [
                (0, "start", measure("start")),
                (seconds // 3, "redis", restart_redis),
                (2 * seconds // 3, "daphne", restart_daphne),
                (seconds - 1, "end", measure("end")),
            ]
            ports = [server.port for server in servers]
            run = chat_soak(ports, args.soak_pages, seconds, events)
            pages, sent, happened = asyncio.run(run)
        restarts = {name: happened[name] for name in ("redis", "daphne")}
        figures = soak_figures(pages, sent, restarts)
        figures |= {
            "pages": args.soak_pages,
            "seconds": seconds,
            "rss_mib": {w: [kib / 1024 for kib in memory[w]] for w in memory},
        }
        self.record(number, "template (channels)", figures, summary(figures))

    def results(self):
        return {"contenders": {n: r[0] for n, r in self.rounds.items()}}

    def report(self, results):
        rows = []
        for name, f in results["contenders"].items():
            start, end = f["rss_mib"]["start"], f["rss_mib"]["end"]
            rows.append(
                [
                    name,
                    f"{f['pages']}, {f['seconds']} s",
                    f"{f['acked']}",
                    f"{f['delivered']}",
                    f"{f['lost']}",
                    f"{f['missed_while_away']}",
                    away(f, "redis"),
                    away(f, "daphne"),
                    f"{start[0]:.0f} → {end[0]:.0f}",
                    f"{start[1]:.0f} → {end[1]:.0f}",
                ]
            )
        header = ["<bake", "pages, time", "messages", "delivered", "lost"]
        header += ["missed while away", "Redis restart: away p50 / max s"]
        header += ["daphne restart: away p50 / max s"]
        header += ["daphne A MiB", "daphne B MiB (restarted)"]
        return (
            "A soak: one chat room on two daphnes sharing Redis, a message a "
            "second; Redis restarts a third of the way in, daphne B two thirds "
            "in, and the pages reconnect with the page's backoff. Lost: not "
            "heard by a page open all along:\n\n" + table(header, rows)
        )


def away(figures, restart):
    seconds = figures["away"][restart]
    return f"{seconds['p50']:.1f} / {seconds['max']:.1f} ({seconds['pages']} pages)"


def summary(figures):
    return (
        f"{figures['delivered']} delivered, {figures['lost']} lost; back after "
        f"Redis in {figures['away']['redis']['max']:.1f} s, after daphne in "
        f"{figures['away']['daphne']['max']:.1f} s"
    )
