"""Chat broadcast: from one member's send until every member of a room has it,
in memory on one process, and on Redis across two processes."""

import asyncio

from clients import room_broadcast
from contenders import Contender
from helpers import REDIS, serving
from report import table
from scenarios import Scenario


class Broadcast(Scenario):
    name = "broadcast"
    needs = ["redis-server"]

    def __init__(self, bench):
        super().__init__(bench)
        self.project = bench.bake("channels")

    def round(self, number):
        bench, members = self.bench, self.bench.args.members
        messages = 10 * bench.args.seconds
        alone = Contender(
            "in memory", self.project, "app:application", bench.production
        )
        with alone.serving(bench.work) as one:
            figures = asyncio.run(room_broadcast([one.port], members, messages))
            self.record_layer(number, "in memory, 1 process", figures)
        with serving(REDIS, bench.work, bench.work / "redis.log") as redis:
            url = f"redis://127.0.0.1:{redis.port}/0"
            env = {**bench.production, "REDIS_URL": url}
            first = Contender("Redis 1", self.project, "app:application", env)
            second = Contender("Redis 2", self.project, "app:application", env)
            with first.serving(bench.work) as a, second.serving(bench.work) as b:
                room = room_broadcast([a.port, b.port], members, messages)
                self.record_layer(number, "Redis, 2 processes", asyncio.run(room))

    def record_layer(self, number, name, figures):
        p50, p99 = figures
        self.record(number, name, {"p50_ms": p50, "p99_ms": p99}, f"p99 {p99:.1f} ms")

    def results(self):
        return {**super().results(), "members": self.bench.args.members}

    def report(self, results):
        rows = [
            [name, f"{f['p50_ms']:.2f}", f"{f['p99_ms']:.2f}"]
            for name, f in results["contenders"].items()
        ]
        return (
            f"Chat broadcast in a room of {results['members']} (from one send "
            "until all have it):\n\n"
            + table(["<channel layer", "p50 ms", "p99 ms"], rows)
        )
