"""Measure the baked template against the original demo and bare ASGI apps.

Run it with `bash bench/run.sh` (which installs what it needs). Every contender
is served by its own daphne process, and the contenders take turns in every
round, so that drift in this machine's speed falls on all of them alike.
Figures are medians over the rounds; ratios compare medians from this one run.
It prints a table and writes bench/results.json and bench/results.png.
"""

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path

from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
# Servers run as in the tests, through the same helper.
from helpers import (
    BIN,
    REDIS,
    ROOT,
    VIA_PROXY,
    clean_env,
    daphne_command,
    postgres_cluster,
    postgres_program,
    rss_kib,
    serving,
    serving_postgres,
)

REFERENCE = ROOT / "bench" / "reference"
HTTP_CONNECTIONS = 32
WEBSOCKET_CLIENTS = 10
ROOM_MEMBERS = 50


def bake(options, output):
    """Bake the template with the real cookiecutter command; return (path, seconds)."""
    started = time.perf_counter()
    subprocess.run(
        [BIN / "cookiecutter", "--no-input", "-f", "-o", output, ROOT]
        + [f"{key}={value}" for key, value in options.items()],
        check=True,
        capture_output=True,
    )
    return output / "my_django_site", time.perf_counter() - started


def first_200(port, deadline):
    """Poll until the server answers 200."""
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n"
    while time.perf_counter() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(request)
                if s.recv(16).startswith(b"HTTP/1.1 200"):
                    return True
        except OSError:
            time.sleep(0.005)
    return False


class Contender:
    """One contender: an ASGI app served by its own daphne process."""

    def __init__(self, name, cwd, app, env=None):
        self.name, self.cwd, self.app, self.env = name, cwd, app, env or {}

    def serving(self, work):
        log = work / (re.sub(r"\W+", "-", self.name) + ".log")
        return serving(daphne_command(self.app), self.cwd, log, clean_env(**self.env))


def without_event_loop_hooks(project, destination):
    """A copy of the default bake without app.py's speed section: Django's own
    thread hops for every middleware hook (to measure what the section does)."""
    copy = shutil.copytree(project, destination)
    app = (copy / "app.py").read_text()
    for patch in (
        "    import_string(name).__acall__ = call_hooks_in_event_loop\n",
        "    CsrfViewMiddleware.__acall__ = call_hooks_in_event_loop\n",
    ):
        assert app.count(patch) == 1, patch
        app = app.replace(patch, "    pass\n")
    (copy / "app.py").write_text(app)
    return copy


def seconds_to_first_200(server):
    """Seconds from starting daphne to its first 200."""
    if not first_200(server.port, time.perf_counter() + 30):
        raise RuntimeError(f"{server.url} never answered 200")
    return time.perf_counter() - server.started


def peak_rss_mib(server):
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) / 1024


def wrk(port, seconds):
    """Requests per second and p50/p99 latency (ms) from wrk."""
    headers = [
        arg for name, value in VIA_PROXY.items() for arg in ("-H", f"{name}: {value}")
    ]
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{HTTP_CONNECTIONS}",
            f"-d{seconds}s",
            "--latency",
            *headers,
            f"http://127.0.0.1:{port}/?name=bench",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])
    return rps, wrk_ms(output, "50%"), wrk_ms(output, "99%")


def wrk_ms(output, percentile):
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)\b", output).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


async def python_http_load(port, seconds):
    """The same measure as wrk, from asyncio, where wrk is not installed."""
    latencies = []
    request = (
        b"GET /?name=bench HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"X-Forwarded-Proto: https\r\n\r\n"
    )
    deadline = time.perf_counter() + seconds

    async def connection():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if length := re.search(rb"(?i)content-length: (\d+)", head):
                await reader.readexactly(int(length[1]))
            else:  # chunked: up to the last, empty chunk
                await reader.readuntil(b"\r\n0\r\n\r\n")
            latencies.append(time.perf_counter() - started)
        writer.close()

    await asyncio.gather(*(connection() for _ in range(HTTP_CONNECTIONS)))
    return len(latencies) / seconds, *percentiles_ms(latencies)


def percentiles_ms(latencies):
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


async def websocket_load(port, path, seconds, chat=False):
    """Echoes per second and p50/p99 round trip (ms), from 10 clients at once
    (with chat, each says {"message": ...} in a room of its own: path has {n})."""
    latencies = []
    deadline = time.perf_counter() + seconds
    origin = f"http://127.0.0.1:{port}"

    async def client(number):
        url = f"ws://127.0.0.1:{port}{path.format(n=number)}"
        async with connect(url, origin=origin) as ws:
            message = f"client {number} says hello"
            message = json.dumps({"message": message}) if chat else message
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await ws.send(message)
                await ws.recv()
                latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(client(n) for n in range(WEBSOCKET_CLIENTS)))
    return len(latencies) / seconds, *percentiles_ms(latencies)


async def room_broadcast(ports, messages):
    """Broadcast latency p50/p99 (ms) in a chat room of 50 members, spread over
    the given daphne ports: from one member's send until every member has it."""
    latencies = []
    async with AsyncExitStack() as stack:
        members = []
        for number in range(ROOM_MEMBERS):
            port = ports[number % len(ports)]
            url = f"ws://127.0.0.1:{port}/ws/chat/bench/"
            origin = f"http://127.0.0.1:{port}"
            members.append(await stack.enter_async_context(connect(url, origin=origin)))
        for number in range(messages):
            started = time.perf_counter()
            await members[0].send(json.dumps({"message": str(number)}))
            await asyncio.gather(*(member.recv() for member in members))
            latencies.append(time.perf_counter() - started)
    return percentiles_ms(latencies)


def measure_broadcast(bake, production, messages, work):
    """One round: in memory on one process, then Redis across two processes."""
    with Contender("in memory", bake, "app:application", production).serving(
        work
    ) as one:
        in_memory = asyncio.run(room_broadcast([one.port], messages))
    with serving(REDIS, work, work / "redis.log") as redis:
        env = production | {"REDIS_URL": f"redis://127.0.0.1:{redis.port}/0"}
        with (
            Contender("Redis 1", bake, "app:application", env).serving(work) as first,
            Contender("Redis 2", bake, "app:application", env).serving(work) as second,
        ):
            on_redis = asyncio.run(room_broadcast([first.port, second.port], messages))
    return {"in memory, 1 process": in_memory, "Redis, 2 processes": on_redis}


def without_auth(project, destination):
    """A copy of the Channels bake with a database, its websockets without
    Channels' AuthMiddlewareStack (to measure what knowing the user costs)."""
    copy = shutil.copytree(project, destination)
    app = (copy / "app.py").read_text()
    for wrapped, bare in [
        ("websocket_router = AuthMiddlewareStack(routes)", "websocket_router = routes"),
        ('self.scope["user"].get_username() or "anonymous"', '"anonymous"'),
    ]:
        assert app.count(wrapped) == 1, wrapped
        app = app.replace(wrapped, bare)
    (copy / "app.py").write_text(app)
    return copy


async def idle_sockets(server, count):
    """Open count websockets to the echo, 50 at a time, and hold them for a
    second: (connects per second, the server's RSS growth in KiB per socket)."""
    url = server.url.replace("http", "ws", 1) + "/ws/echo/"
    origin = server.url
    opening = asyncio.Semaphore(50)
    async with AsyncExitStack() as stack:

        async def one():
            async with opening:
                await stack.enter_async_context(connect(url, origin=origin))

        await asyncio.sleep(0.5)
        before = rss_kib(server.process)
        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        elapsed = time.perf_counter() - started
        await asyncio.sleep(1)
        return count / elapsed, (rss_kib(server.process) - before) / count


def measure_auth(contenders, sockets, seconds, work, rounds, number):
    """One round of connects, idle memory and chat echo on each contender."""
    turn = number % len(contenders)
    for contender in contenders[turn:] + contenders[:turn]:
        with contender.serving(work) as server:
            connects, kib = asyncio.run(idle_sockets(server, sockets))
            rate, p50, p99 = asyncio.run(
                websocket_load(server.port, "/ws/chat/bench{n}/", seconds, chat=True)
            )
        rounds[contender.name].append(
            {
                "connects_per_s": connects,
                "kib_per_idle_socket": kib,
                "chat_echoes_per_s": rate,
                "chat_p99_ms": p99,
            }
        )
        print(
            f"round {number + 1}: {contender.name}: {connects:.0f} connects/s, "
            f"{kib:.1f} KiB a socket, {rate:.0f} chat echoes/s",
            flush=True,
        )


def guestbook_contenders(project, production, database_url):
    """The database bake's guestbook page, async (as baked) and sync, on one
    database that holds 20 entries, so each page lists 20."""
    env = clean_env(**production, DATABASE_URL=database_url)
    shutil.copy(REFERENCE / "guestbook_sync.py", project)
    seed = (
        "from app import Entry; Entry.objects.all().delete(); "
        "Entry.objects.bulk_create(Entry(name=f'Guest {n}', message='Hello, "
        "benchmark!') for n in range(20))"
    )
    for command in (["migrate", "-v0"], ["shell", "--no-imports", "-c", seed]):
        subprocess.run(
            [sys.executable, "app.py", *command], cwd=project, env=env, check=True
        )
    engine = database_url.partition(":")[0]
    env = {**production, "DATABASE_URL": database_url}
    return [
        Contender(f"guestbook async, {engine}", project, "app:application", env),
        Contender(
            f"guestbook sync, {engine}", project, "guestbook_sync:application", env
        ),
    ]


def measure_http(contenders, rounds, number, have_wrk, seconds, work):
    """One round of HTTP load on each contender, a different one first each round."""
    turn = number % len(contenders)
    for contender in contenders[turn:] + contenders[:turn]:
        with contender.serving(work) as server:
            started = seconds_to_first_200(server)
            time.sleep(0.5)
            if have_wrk:
                rps, p50, p99 = wrk(server.port, seconds)
            else:
                rps, p50, p99 = asyncio.run(python_http_load(server.port, seconds))
            rounds[contender.name].append(
                {
                    "rps": rps,
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "start_s": started,
                    "peak_rss_mib": peak_rss_mib(server),
                }
            )
        print(f"round {number + 1}: {contender.name}: {rps:.0f} requests/s", flush=True)


def median_of(rounds):
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5, help="per load test")
    parser.add_argument("--sockets", type=int, default=2000, help="idle, held open")
    parser.add_argument("--output", type=Path, default=ROOT / "bench")
    parser.add_argument("--no-chart", action="store_true", help="skip results.png")
    args = parser.parse_args()
    with ExitStack() as stack:
        benchmark(args, stack)


def benchmark(args, stack):
    """Bake, serve and measure every contender; servers that outlive one
    contender (PostgreSQL) stop with stack."""
    have_wrk = shutil.which("wrk") is not None
    work = Path(tempfile.mkdtemp(prefix="bench-"))

    bakes, bake_seconds = {}, []
    for variant in ("none", "asgi", "channels"):
        times = []
        for attempt in range(3):
            path, seconds = bake({"websocket": variant}, work / f"{variant}{attempt}")
            times.append(seconds)
        bakes[variant] = path
        bake_seconds.append(statistics.median(times))
    production = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    }
    for path in bakes.values():
        (
            path / ".env"
        ).unlink()  # deployed as in production: settings from the environment

    http = [
        Contender("original demo", REFERENCE, "demo:application"),
        Contender("bare ASGI hello", REFERENCE, "hello:application"),
        Contender("template (default)", bakes["none"], "app:application", production),
        Contender(
            "template (default), no event-loop hooks",
            without_event_loop_hooks(bakes["none"], work / "no-hooks"),
            "app:application",
            production,
        ),
        Contender("template (asgi)", bakes["asgi"], "app:application", production),
        Contender(
            "template (channels)", bakes["channels"], "app:application", production
        ),
    ]
    websockets = [
        (Contender("bare ASGI echo", REFERENCE, "echo:application"), "/"),
        (Contender("bare Channels echo", REFERENCE, "channels_echo:application"), "/"),
        (
            Contender("template (asgi)", bakes["asgi"], "app:application", production),
            "/ws/echo/",
        ),
        (
            Contender(
                "template (channels)", bakes["channels"], "app:application", production
            ),
            "/ws/echo/",
        ),
    ]
    http_rounds = {c.name: [] for c in http}
    # The database bake's guestbook, on SQLite and (where it is installed) on a
    # PostgreSQL server of the benchmark's own.
    guestbook, _ = bake({"websocket": "none", "database": "true"}, work / "database")
    (guestbook / ".env").unlink()
    database = guestbook_contenders(
        guestbook, production, f"sqlite:///{work / 'guestbook.sqlite3'}"
    )
    if postgres_program("initdb"):
        cluster = postgres_cluster()
        stack.callback(shutil.rmtree, cluster)
        postgres = stack.enter_context(serving_postgres(cluster, work / "postgres.log"))
        url = f"postgres://postgres@127.0.0.1:{postgres.port}/postgres"
        database += guestbook_contenders(guestbook, production, url)
    db_rounds = {c.name: [] for c in database}
    # Knowing who is there: the Channels bake with a database, with and
    # without Channels' AuthMiddlewareStack in front of its consumers.
    who, _ = bake({"websocket": "channels", "database": "true"}, work / "who")
    (who / ".env").unlink()
    auth = [
        Contender("AuthMiddlewareStack (as baked)", who, "app:application", production),
        Contender(
            "no AuthMiddlewareStack",
            without_auth(who, work / "who-without"),
            "app:application",
            production,
        ),
    ]
    auth_rounds = {c.name: [] for c in auth}
    ws_rounds = {c.name: [] for c, _ in websockets}
    have_redis = shutil.which("redis-server") is not None
    broadcast_rounds = {"in memory, 1 process": [], "Redis, 2 processes": []}
    for number in range(args.rounds):
        measure_http(http, http_rounds, number, have_wrk, args.seconds, work)
        measure_http(database, db_rounds, number, have_wrk, args.seconds, work)
        measure_auth(auth, args.sockets, args.seconds, work, auth_rounds, number)
        turn = number % len(websockets)
        for contender, path in websockets[turn:] + websockets[:turn]:
            with contender.serving(work) as server:
                time.sleep(0.5)
                rate, p50, p99 = asyncio.run(
                    websocket_load(server.port, path, args.seconds)
                )
                ws_rounds[contender.name].append(
                    {
                        "echoes_per_s": rate,
                        "p50_ms": p50,
                        "p99_ms": p99,
                        "peak_rss_mib": peak_rss_mib(server),
                    }
                )
            print(
                f"round {number + 1}: {contender.name}: {rate:.0f} echoes/s", flush=True
            )
        if have_redis:
            figures = measure_broadcast(
                bakes["channels"], production, 20 * args.seconds, work
            )
            for name, (p50, p99) in figures.items():
                broadcast_rounds[name].append({"p50_ms": p50, "p99_ms": p99})
                print(f"round {number + 1}: broadcast, {name}: p99 {p99:.1f} ms")

    results = {
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "settings": {
            "rounds": args.rounds,
            "seconds": args.seconds,
            "http_client": "wrk" if have_wrk else "python",
            "http_connections": HTTP_CONNECTIONS,
            "websocket_clients": WEBSOCKET_CLIENTS,
            "idle_sockets": args.sockets,
        },
        "bake_seconds": statistics.median(bake_seconds),
        "http": {name: median_of(rounds) for name, rounds in http_rounds.items()},
        "database": {name: median_of(rounds) for name, rounds in db_rounds.items()},
        "websocket": {name: median_of(rounds) for name, rounds in ws_rounds.items()},
        "auth": {name: median_of(rounds) for name, rounds in auth_rounds.items()},
        "broadcast": {
            name: median_of(rounds)
            for name, rounds in broadcast_rounds.items()
            if rounds
        },
    }
    http = results["http"]
    results["speed_section"] = (
        http["template (default)"]["rps"]
        / http["template (default), no event-loop hooks"]["rps"]
    )
    demo = http["original demo"]
    for figures in http.values():
        figures["rps_vs_demo"] = figures["rps"] / demo["rps"]
        figures["p99_vs_demo"] = figures["p99_ms"] / demo["p99_ms"]
        figures["start_vs_demo"] = figures["start_s"] / demo["start_s"]
    db = results["database"]
    for name, figures in db.items():
        sync = db[name.replace("async", "sync")]
        figures["rps_vs_sync"] = figures["rps"] / sync["rps"]
        figures["p99_vs_sync"] = figures["p99_ms"] / sync["p99_ms"]
    with_auth, without = results["auth"].values()
    for key in ("connects_per_s", "kib_per_idle_socket", "chat_echoes_per_s"):
        with_auth[f"{key}_ratio"] = with_auth[key] / without[key]
    ws = results["websocket"]
    ws["template (asgi)"]["vs_reference"] = (
        ws["template (asgi)"]["echoes_per_s"] / ws["bare ASGI echo"]["echoes_per_s"]
    )
    ws["template (channels)"]["vs_reference"] = (
        ws["template (channels)"]["echoes_per_s"]
        / ws["bare Channels echo"]["echoes_per_s"]
    )
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    if not args.no_chart:
        chart(results, args.output / "results.png")
    shutil.rmtree(work)


def table(results):
    run = results["settings"]
    lines = [
        f"HTTP, {run['http_connections']} connections ({run['http_client']}), "
        f"medians of {run['rounds']} rounds of {run['seconds']} s:",
        "",
        "| contender | requests/s | vs demo | p50 ms | p99 ms | p99 vs demo "
        "| start s | start vs demo | peak RSS MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, f in results["http"].items():
        lines.append(
            f"| {name} | {f['rps']:.0f} | {f['rps_vs_demo']:.2f}x | {f['p50_ms']:.2f} "
            f"| {f['p99_ms']:.2f} | {f['p99_vs_demo']:.2f}x | {f['start_s']:.2f} "
            f"| {f['start_vs_demo']:.2f}x | {f['peak_rss_mib']:.0f} |"
        )
    lines += [
        "",
        "app.py's speed section (middleware hooks in the event loop): "
        f"{results['speed_section']:.2f}x the default bake's requests/s without it.",
        "",
        "The database bake's guestbook page (20 entries listed), async as baked",
        "against the same page as a sync view:",
        "",
        "| contender | requests/s | vs sync | p50 ms | p99 ms | p99 vs sync |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, f in results["database"].items():
        lines.append(
            f"| {name} | {f['rps']:.0f} | {f['rps_vs_sync']:.2f}x | {f['p50_ms']:.2f} "
            f"| {f['p99_ms']:.2f} | {f['p99_vs_sync']:.2f}x |"
        )
    lines += [
        "",
        f"Websocket echo, {run['websocket_clients']} clients:",
        "",
        "| contender | echoes/s | vs bare reference | p50 ms | p99 ms | peak RSS MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, f in results["websocket"].items():
        ratio = f"{f['vs_reference']:.2f}x" if "vs_reference" in f else ""
        lines.append(
            f"| {name} | {f['echoes_per_s']:.0f} | {ratio} | {f['p50_ms']:.2f} "
            f"| {f['p99_ms']:.2f} | {f['peak_rss_mib']:.0f} |"
        )
    lines += [
        "",
        f"Knowing who is there (the Channels bake with a database): "
        f"{run['idle_sockets']} idle sockets opened 50 at a time, then chat echo,",
        f"{run['websocket_clients']} clients each in a room of its own:",
        "",
        "| websockets | connects/s | KiB a socket | chat echoes/s | chat p99 ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, f in results["auth"].items():
        lines.append(
            f"| {name} | {f['connects_per_s']:.0f} | {f['kib_per_idle_socket']:.1f} "
            f"| {f['chat_echoes_per_s']:.0f} | {f['chat_p99_ms']:.2f} |"
        )
    f = next(iter(results["auth"].values()))
    lines.append(
        f"| ratio | {f['connects_per_s_ratio']:.2f}x "
        f"| {f['kib_per_idle_socket_ratio']:.2f}x "
        f"| {f['chat_echoes_per_s_ratio']:.2f}x | |"
    )
    if results["broadcast"]:
        lines += [
            "",
            f"Chat broadcast in a room of {ROOM_MEMBERS} (send until all have it):",
            "",
            "| channel layer | p50 ms | p99 ms |",
            "| --- | ---: | ---: |",
        ]
        for name, f in results["broadcast"].items():
            lines.append(f"| {name} | {f['p50_ms']:.2f} | {f['p99_ms']:.2f} |")
    else:
        lines += ["", "Chat broadcast: not measured (no redis-server here)."]
    lines += [
        "",
        f"Bake (cookiecutter command, median): {results['bake_seconds']:.2f} s",
    ]
    return "\n".join(lines)


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for axis, kind, key, title in (
        (left, "http", "rps", "HTTP requests/s (32 connections)"),
        (right, "websocket", "echoes_per_s", "Websocket echoes/s (10 clients)"),
    ):
        names = list(results[kind])
        values = [results[kind][name][key] for name in names]
        bars = axis.barh(names, values, color="#44728c")
        axis.bar_label(bars, fmt="%.0f", padding=3)
        axis.set_title(title)
        axis.invert_yaxis()
        axis.margins(x=0.2)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
