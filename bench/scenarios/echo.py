"""Websocket echo, 10 clients: the websocket bakes against a bare ASGI echo and
a bare Channels echo consumer (bench/reference/)."""

import asyncio
import time

from clients import WEBSOCKET_CLIENTS, peak_rss_mib, websocket_load
from contenders import REFERENCE, Contender
from report import ratio, table
from scenarios import Scenario, in_turn

REFERENCES = {
    "template (asgi)": "bare ASGI echo",
    "template (channels)": "bare Channels echo",
}


class Echo(Scenario):
    name = "echo"

    def __init__(self, bench):
        super().__init__(bench)
        self.contenders = [
            (Contender("bare ASGI echo", REFERENCE, "echo:application"), "/"),
            (
                Contender("bare Channels echo", REFERENCE, "channels_echo:application"),
                "/",
            ),
            (bench.template("template (asgi)", websocket="asgi"), "/ws/echo/"),
            (bench.template("template (channels)", websocket="channels"), "/ws/echo/"),
        ]

    def round(self, number):
        for contender, path in in_turn(self.contenders, number):
            with contender.serving(self.bench.work) as server:
                time.sleep(0.5)
                load = websocket_load(server.port, path, self.bench.args.seconds)
                rate, p50, p99 = asyncio.run(load)
                figures = {
                    "echoes_per_s": rate,
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "peak_rss_mib": peak_rss_mib(server),
                }
            self.record(number, contender.name, figures, f"{rate:.0f} echoes/s")

    def results(self):
        contenders = super().results()["contenders"]
        for name, reference in REFERENCES.items():
            figures = contenders[name]
            figures["vs_reference"] = (
                figures["echoes_per_s"] / contenders[reference]["echoes_per_s"]
            )
        return {"contenders": contenders, "clients": WEBSOCKET_CLIENTS}

    def report(self, results):
        rows = [
            [
                name,
                f"{f['echoes_per_s']:.0f}",
                ratio(f["vs_reference"]) if "vs_reference" in f else "",
                f"{f['p50_ms']:.2f}",
                f"{f['p99_ms']:.2f}",
                f"{f['peak_rss_mib']:.0f}",
            ]
            for name, f in results["contenders"].items()
        ]
        header = ["<contender", "echoes/s", "vs bare reference", "p50 ms", "p99 ms"]
        return f"Websocket echo, {results['clients']} clients:\n\n" + table(
            [*header, "peak RSS MiB"], rows
        )
