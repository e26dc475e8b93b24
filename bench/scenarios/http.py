"""The greeting page over HTTP: the bakes against the original demo, a bare
ASGI hello world (the server's ceiling), and the default bake without app.py's
speed section (what the section is worth)."""

import time

from clients import HTTP_CONNECTIONS, http_load, peak_rss_mib, seconds_to_first_200
from contenders import REFERENCE, Contender, without_event_loop_hooks
from report import ratio, table
from scenarios import Scenario, in_turn


class Http(Scenario):
    name = "http"

    def __init__(self, bench):
        super().__init__(bench)
        no_hooks = without_event_loop_hooks(bench.bake(), bench.work / "no-hooks")
        self.contenders = [
            Contender("original demo", REFERENCE, "demo:application"),
            Contender("bare ASGI hello", REFERENCE, "hello:application"),
            bench.template("template (default)"),
            Contender(
                "template (default), no event-loop hooks",
                no_hooks,
                "app:application",
                bench.production,
            ),
            bench.template("template (asgi)", websocket="asgi"),
            bench.template("template (channels)", websocket="channels"),
        ]

    def round(self, number):
        for contender in in_turn(self.contenders, number):
            figures = measure(contender, self.bench)
            self.record(number, contender.name, figures, f"{figures['rps']:.0f} req/s")

    def results(self):
        contenders = super().results()["contenders"]
        demo = contenders["original demo"]
        for figures in contenders.values():
            compare(figures, demo, "demo")
            figures["start_vs_demo"] = figures["start_s"] / demo["start_s"]
        default = contenders["template (default)"]["rps"]
        without = contenders["template (default), no event-loop hooks"]["rps"]
        return {
            "contenders": contenders,
            "speed_section": default / without,
            "bake_seconds": self.bench.median_bake_seconds(),
            "connections": HTTP_CONNECTIONS,
        }

    def report(self, results):
        rows = [
            [
                name,
                *load_cells(f, "demo"),
                f"{f['start_s']:.2f}",
                ratio(f["start_vs_demo"]),
                f"{f['peak_rss_mib']:.0f}",
            ]
            for name, f in results["contenders"].items()
        ]
        header = ["<contender", "requests/s", "vs demo", "p50 ms", "p99 ms"]
        header += ["p99 vs demo", "start s", "start vs demo", "peak RSS MiB"]
        return (
            f"The greeting page, {results['connections']} connections:\n\n"
            + table(header, rows)
            + "\n\napp.py's speed section (middleware hooks in the event loop): "
            f"{results['speed_section']:.2f}x the default bake's requests/s "
            f"without it.\n\nBake (the cookiecutter command, median): "
            f"{results['bake_seconds']:.2f} s."
        )


def measure(contender, bench, seconds=None):
    with contender.serving(bench.work) as server:
        started = seconds_to_first_200(server)
        time.sleep(0.5)
        rps, p50, p99 = http_load(server.port, seconds or bench.args.seconds)
        return {
            "rps": rps,
            "p50_ms": p50,
            "p99_ms": p99,
            "start_s": started,
            "peak_rss_mib": peak_rss_mib(server),
        }


def compare(figures, baseline, versus):
    """Add figures' requests/s and p99 as ratios to baseline's ("rps_vs_demo")."""
    figures[f"rps_vs_{versus}"] = figures["rps"] / baseline["rps"]
    figures[f"p99_vs_{versus}"] = figures["p99_ms"] / baseline["p99_ms"]


def load_cells(figures, versus):
    """A report row's requests/s, p50 and p99, with compare()'s ratios."""
    return [
        f"{figures['rps']:.0f}",
        ratio(figures[f"rps_vs_{versus}"]),
        f"{figures['p50_ms']:.2f}",
        f"{figures['p99_ms']:.2f}",
        ratio(figures[f"p99_vs_{versus}"]),
    ]
