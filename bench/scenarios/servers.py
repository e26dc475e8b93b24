"""Servers side by side: the default bake and the asgi bake under daphne,
uvicorn and granian (each serving app:application with the same settings):
HTTP requests/s and p99, and for the asgi bake the echo rate and the memory
of an idle websocket."""

import asyncio

from clients import idle_sockets, websocket_load
from report import table
from scenarios import Scenario, in_turn
from scenarios.http import measure

BAKES = {"default": "none", "asgi": "asgi"}
SERVERS = ["daphne", "uvicorn", "granian"]  # of contenders.SERVERS: ASGI servers


class Servers(Scenario):
    name = "servers"

    def __init__(self, bench):
        super().__init__(bench)
        self.contenders = [
            bench.template(f"{bake} bake, {server}", websocket, server=server)
            for bake, websocket in BAKES.items()
            for server in SERVERS
        ]

    def round(self, number):
        for contender in in_turn(self.contenders, number):
            figures = measure(contender, self.bench)
            del figures["start_s"], figures["peak_rss_mib"]
            if contender.name.startswith("asgi"):
                figures |= self.websockets(contender)
            self.record(number, contender.name, figures, f"{figures['rps']:.0f} req/s")

    def websockets(self, contender):
        args = self.bench.args
        with contender.serving(self.bench.work) as server:
            load = websocket_load(server.port, "/ws/echo/", args.seconds)
            rate, _, p99 = asyncio.run(load)
            _, kib = asyncio.run(idle_sockets(server, args.sockets))
        return {"echoes_per_s": rate, "echo_p99_ms": p99, "kib_per_idle_socket": kib}

    def report(self, results):
        rows = []
        for name, f in results["contenders"].items():
            row = [name, f"{f['rps']:.0f}", f"{f['p99_ms']:.2f}"]
            if "echoes_per_s" in f:
                row += [
                    f"{f['echoes_per_s']:.0f}",
                    f"{f['echo_p99_ms']:.2f}",
                    f"{f['kib_per_idle_socket']:.1f}",
                ]
            rows.append(row + [""] * (6 - len(row)))
        header = ["<bake, server", "requests/s", "p99 ms", "echoes/s", "echo p99 ms"]
        return (
            "Servers side by side (the greeting page, 32 connections; echo, 10 "
            f"clients; memory with {self.bench.args.sockets} idle websockets):\n\n"
            + table([*header, "KiB an idle socket"], rows)
        )
