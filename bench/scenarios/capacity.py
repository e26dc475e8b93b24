"""Capacity as deployed: one daphne process behind the README's nginx (with
TLS, and the limits its nginx.conf lines and systemd unit set), ramped to the
goal (10,000 idle websockets) and on toward the ramp's end (50,000) until
something refuses: connects/s, memory per socket, echo on every socket, the
CPU of daphne's keep-alive pings while idle, and where and why it stopped.

It takes minutes, so it runs once per run, and only when asked for
(bash bench/run.sh --only capacity).
"""

import os
import re
import time

from clients import cpu_seconds, listen_overflows, percentiles_ms, rss_kib
from contenders import REFERENCE
from crowd import crowd
from deploy import HARD_NOFILE, behind_nginx, make_certificate, readme_limits
from report import ramps, table
from scenarios import Scenario


class Capacity(Scenario):
    name = "capacity"
    needs = ["nginx", "openssl", "prlimit"]

    def __init__(self, bench):
        super().__init__(bench)
        asgi, channels = bench.bake("asgi"), bench.bake("channels")
        self.certificate = make_certificate(bench.work)
        self.limits = readme_limits(asgi)  # the same README text in every bake
        self.contenders = [
            ("bare ASGI echo", asgi, (REFERENCE, "echo:application"), "/"),
            (
                "bare Channels echo",
                channels,
                (REFERENCE, "channels_echo:application"),
                "/",
            ),
            ("template (asgi)", asgi, None, "/ws/echo/"),
            ("template (channels)", channels, None, "/ws/echo/"),
        ]

    def round(self, number):
        if number:  # one ramp per run: it takes minutes
            return
        for name, project, served, path in self.contenders:
            where = self.bench.work / re.sub(r"\W+", "-", name)
            where.mkdir()
            with behind_nginx(
                project,
                self.certificate,
                where,
                limits=self.limits,
                served=served,
                stop_timeout=120,  # with thousands of sockets to close
            ) as site:
                figures = self.ramp(site, path)
            summary = (
                f"{figures['held']} held, {figures['kib_per_socket']:.1f} KiB "
                f"a socket at {figures['goal']}; stopped: {figures['stopped']}"
            )
            self.record(number, name, figures, summary)

    def ramp(self, site, path):
        """Open sockets a step at a time, measure at the goal, and go on until
        the ramp's end or the first refusal."""
        args, daphne = self.bench.args, site.daphne
        step = max(args.goal // 10, 1)
        url = f"wss://example.com:{site.https_port}{path}"
        time.sleep(0.5)
        figures = {"goal": args.goal, "base_rss_mib": rss_kib(daphne) / 1024}
        overflows, held, seconds, steps, error = listen_overflows(), 0, 0.0, [], None
        with crowd(
            url, args.capacity, "https://example.com", "example.com", site.https_port
        ) as people:
            while held < args.capacity and not error:
                opened, took, error = people.grow(min(step, args.capacity - held))
                held, seconds = held + opened, seconds + took
                steps.append({"held": held, "rss_mib": rss_kib(daphne) / 1024})
                if "held_at_goal" not in figures and held >= args.goal:
                    figures |= self.at_goal(people, daphne, figures, held, seconds)
            figures |= {
                "held": held,
                "connects_per_s": held / seconds,
                "listen_overflows": listen_overflows() - overflows,
                "daphne_files": files(daphne.process.pid),
                "ramp": steps,
            }
        figures["stopped"] = why_stopped(error, site, figures, self.limits)
        return figures

    def at_goal(self, people, daphne, figures, held, seconds):
        """What one daphne process does with held sockets open."""
        time.sleep(2)
        kib = (rss_kib(daphne) - figures["base_rss_mib"] * 1024) / held
        idle = self.bench.args.idle
        cpu = cpu_seconds(daphne)
        time.sleep(idle)  # daphne pings each socket once every 20 s
        cpu = (cpu_seconds(daphne) - cpu) / idle
        echoes, lost = people.echo()
        p50, p99 = percentiles_ms(echoes)
        return {
            "held_at_goal": held,
            "connects_per_s_to_goal": held / seconds,
            "kib_per_socket": kib,
            "idle_cpu_percent": cpu * 100,
            "echo_p50_ms": p50,
            "echo_p99_ms": p99,
            "echoes_lost": lost,
        }

    def results(self):
        contenders = {name: rounds[0] for name, rounds in self.rounds.items()}
        bare = contenders["bare ASGI echo"]["kib_per_socket"]
        for figures in contenders.values():
            figures["kib_vs_bare_asgi"] = figures["kib_per_socket"] / bare
        return {
            "contenders": contenders,
            "nginx_conf": self.limits.nginx_conf,
            "daphne_nofile": self.limits.daphne_nofile,
            "hard_nofile": HARD_NOFILE,
        }

    def report(self, results):
        rows = []
        for name, f in results["contenders"].items():
            if "held_at_goal" not in f:
                rows.append([name, f"{f['held']} (below the goal)", *[""] * 7])
                continue
            rows.append(
                [
                    name,
                    f"{f['held_at_goal']}",
                    f"{f['connects_per_s_to_goal']:.0f}",
                    f"{f['kib_per_socket']:.1f} ({f['kib_vs_bare_asgi']:.2f}x)",
                    f"{f['echo_p50_ms']:.0f} / {f['echo_p99_ms']:.0f}",
                    f"{f['echoes_lost']}",
                    f"{f['idle_cpu_percent']:.1f}%",
                    f"{f['held']}",
                    f["stopped"],
                ]
            )
        header = ["<contender", "held", "connects/s", "KiB a socket (vs bare ASGI)"]
        header += ["echo p50 / p99 ms", "lost", "idle CPU", "ceiling", "<stopped by"]
        return (
            "Capacity as deployed (the README's nginx with TLS, its nginx.conf "
            "limits and its unit's LimitNOFILE), one daphne process; at the goal "
            "every socket echoes once, all at once, and the CPU is daphne's "
            "keep-alive pings over one idle interval:\n\n" + table(header, rows)
        )

    def chart(self, results, output):
        ramps(results, output / "capacity.png")


def files(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def why_stopped(error, site, figures, limits):
    """The client's first refusal, and what the servers say of it."""
    if error is None:
        return "nothing (the ramp's end)"
    nginx = site.error_log.read_text()
    daphne, limit = figures["daphne_files"], limits.daphne_nofile
    causes = [
        cause
        for cause, seen in [
            ("nginx worker_connections", "worker_connections are not enough" in nginx),
            ("nginx open files", "Too many open files" in nginx),
            (f"daphne open files: {daphne} of {limit}", daphne >= limit - 20),
        ]
        if seen
    ]
    error = error.replace("InvalidStatus: server rejected WebSocket connection: ", "")
    return f"{error[:60]} ({', '.join(causes) or 'no log line'})"
