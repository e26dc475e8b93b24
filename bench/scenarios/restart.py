"""Restarts with many pages open: pages (10,000 by default) hold a websocket each
on one daphne, behind the README's nginx with TLS and its limits; daphne is
stopped, as systemd stops it, and started again, and every page opens its
socket again with the baked page's backoff (tests/pages.py, replayed by
tests/crowd.py). It reports how long until all are back, how many tries failed
meanwhile, and how many connections the kernel dropped for a full listen queue.

It takes a minute or two, so it runs once per run, and only when asked for
(bash bench/run.sh --only restart).
"""

import statistics
import time

from clients import listen_overflows
from crowd import crowd
from deploy import behind_nginx, make_certificate, readme_limits
from report import table
from scenarios import Scenario

PATIENCE = 300  # seconds for every page to be back


class Restart(Scenario):
    name = "restart"
    needs = ["nginx", "openssl", "prlimit"]

    def __init__(self, bench):
        super().__init__(bench)
        self.project = bench.bake("asgi")
        self.certificate = make_certificate(bench.work)

    def round(self, number):
        if number:  # one restart per run: it takes minutes
            return
        where = self.bench.work / "restart"
        where.mkdir()
        limits = readme_limits(self.project)
        with behind_nginx(
            self.project, self.certificate, where, limits=limits, stop_timeout=120
        ) as site:
            figures = self.restart(site)
        summary = (
            f"{figures['back']} of {figures['pages']} back "
            f"{figures['all_back_s']:.1f} s after the restart began"
        )
        self.record(number, "template (asgi)", figures, summary)

    def restart(self, site):
        pages = self.bench.args.pages
        url = f"wss://example.com:{site.https_port}/ws/echo/"
        with crowd(
            url, pages, "https://example.com", "example.com", site.https_port
        ) as people:
            opened, _, error = people.grow(pages)
            assert opened == pages, error
            people.keep()
            overflows, began = listen_overflows(), time.time()
            site.restart()
            up = time.time()
            while (kept := people.kept())[0] < pages and time.time() < up + PATIENCE:
                time.sleep(2)
        back, reopened, failed = kept
        seconds = sorted(at - began for at in reopened)
        cuts = statistics.quantiles(seconds, n=100) if len(seconds) > 1 else [0] * 99
        return {
            "pages": pages,
            "back": back,
            "down_s": up - began,
            "p50_back_s": cuts[49],
            "p99_back_s": cuts[98],
            "all_back_s": seconds[-1] if seconds else float("nan"),
            "failed_tries": failed,
            "listen_overflows": listen_overflows() - overflows,
        }

    def results(self):
        return {"contenders": {n: r[0] for n, r in self.rounds.items()}}

    def report(self, results):
        rows = [
            [
                name,
                f"{f['back']} of {f['pages']}",
                f"{f['down_s']:.1f}",
                f"{f['p50_back_s']:.1f} / {f['p99_back_s']:.1f}",
                f"{f['all_back_s']:.1f}",
                f"{f['failed_tries']}",
                f"{f['listen_overflows']}",
            ]
            for name, f in results["contenders"].items()
        ]
        header = ["<bake", "back", "daphne down s", "back p50 / p99 s", "all back s"]
        header += ["tries failed", "listen-queue drops"]
        return (
            "A restart with pages open (the README's nginx with TLS and its "
            "limits, one daphne): seconds from the stop until each page's socket "
            "is open again, with the page's own backoff:\n\n" + table(header, rows)
        )
