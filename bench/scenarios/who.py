"""Knowing who is there: the Channels bake with a database, as baked (Channels'
AuthMiddlewareStack in front of its consumers) and without the wrapper:
connects/s and memory per idle socket, then chat echo (a room per client)."""

import asyncio

from clients import idle_sockets, websocket_load
from contenders import Contender, without_auth
from report import ratio, table
from scenarios import Scenario, in_turn

KEYS = ("connects_per_s", "kib_per_idle_socket", "chat_echoes_per_s")


class Who(Scenario):
    name = "who"

    def __init__(self, bench):
        super().__init__(bench)
        project = bench.bake("channels", database=True)
        bare = without_auth(project, bench.work / "who-without")
        self.contenders = [
            bench.template("AuthMiddlewareStack (as baked)", "channels", True),
            Contender(
                "no AuthMiddlewareStack", bare, "app:application", bench.production
            ),
        ]

    def round(self, number):
        args = self.bench.args
        for contender in in_turn(self.contenders, number):
            with contender.serving(self.bench.work) as server:
                connects, kib = asyncio.run(idle_sockets(server, args.sockets))
                chat = websocket_load(
                    server.port, "/ws/chat/bench{n}/", args.seconds, True
                )
                rate, _, p99 = asyncio.run(chat)
            figures = {
                "connects_per_s": connects,
                "kib_per_idle_socket": kib,
                "chat_echoes_per_s": rate,
                "chat_p99_ms": p99,
            }
            summary = f"{connects:.0f} connects/s, {kib:.1f} KiB a socket"
            self.record(number, contender.name, figures, summary)

    def results(self):
        contenders = super().results()["contenders"]
        with_auth, without = contenders.values()
        ratios = {key: with_auth[key] / without[key] for key in KEYS}
        return {
            "contenders": contenders,
            "ratios": ratios,
            "sockets": self.bench.args.sockets,
        }

    def report(self, results):
        rows = [
            [
                name,
                f"{f['connects_per_s']:.0f}",
                f"{f['kib_per_idle_socket']:.1f}",
                f"{f['chat_echoes_per_s']:.0f}",
                f"{f['chat_p99_ms']:.2f}",
            ]
            for name, f in results["contenders"].items()
        ]
        rows.append(["ratio", *(ratio(results["ratios"][key]) for key in KEYS), ""])
        header = ["<websockets", "connects/s", "KiB a socket", "chat echoes/s"]
        return (
            "Knowing who is there (the Channels bake with a database): "
            f"{results['sockets']} idle sockets opened 50 at a time, then chat "
            "echo, 10 clients each in a room of its own:\n\n"
            + table([*header, "chat p99 ms"], rows)
        )
