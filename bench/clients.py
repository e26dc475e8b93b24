"""The load clients: wrk (or a Python client) for HTTP, websocket echo and chat
clients, a room's broadcast, idle sockets, a chat soak of pages that reconnect
as the baked page does, and what they read of a server's process (memory, CPU)
and of the kernel. Many thousands of sockets: tests/crowd.py."""

import asyncio
import contextlib
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import time
from contextlib import AsyncExitStack
from itertools import cycle, islice, pairwise
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

import contenders  # noqa: F401  (puts tests/ on sys.path)
from helpers import VIA_PROXY
from pages import Page

HTTP_CONNECTIONS = 32
WEBSOCKET_CLIENTS = 10


def percentiles_ms(seconds):
    """p50 and p99 of durations in seconds, in ms."""
    cuts = statistics.quantiles(seconds, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


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


def seconds_to_first_200(server):
    """Seconds from starting the server to its first 200."""
    if not first_200(server.port, time.perf_counter() + 30):
        raise RuntimeError(f"{server.url} never answered 200")
    return time.perf_counter() - server.started


def group_pids(leader):
    """The processes of a server: its session (serving() starts one each),
    which holds the worker processes of a server that has them."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[3]) == leader:  # the session id
            pids.append(int(stat.parent.name))
    return pids


def status_kib(pid, field):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", status)[1])


def rss_kib(server):
    """The resident memory of a server's processes."""
    return sum(status_kib(pid, "VmRSS") for pid in group_pids(server.process.pid))


def peak_rss_mib(server):
    return sum(status_kib(p, "VmHWM") for p in group_pids(server.process.pid)) / 1024


def listen_overflows():
    """The kernel's count of connections dropped for a full listen queue."""
    names, values = Path("/proc/net/netstat").read_text().splitlines()[:2]
    return int(dict(zip(names.split(), values.split(), strict=True))["ListenOverflows"])


def cpu_seconds(server):
    """CPU time (user and system) used so far by a server's processes."""
    ticks = 0
    for pid in group_pids(server.process.pid):
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def http_load(port, seconds):
    """Requests per second and p50/p99 latency (ms), by wrk where it is."""
    if shutil.which("wrk"):
        return wrk(port, seconds)
    return asyncio.run(python_http_load(port, seconds))


def wrk(port, seconds):
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


GREETING = (
    b"GET /?name=bench HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n"
)


async def python_http_load(
    port, seconds, request=GREETING, status=200, connections=HTTP_CONNECTIONS
):
    """The same measure as wrk, from asyncio (where wrk is not installed, and
    for requests other than the greeting); every answer must have `status`."""
    latencies = []
    deadline = time.perf_counter() + seconds

    async def connection():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(f"HTTP/1.1 {status} ".encode()):
                raise AssertionError(head.decode("latin-1").partition("\r\n")[0])
            if length := re.search(rb"(?i)content-length: (\d+)", head):
                await reader.readexactly(int(length[1]))
            else:  # chunked: up to the last, empty chunk
                await reader.readuntil(b"\r\n0\r\n\r\n")
            latencies.append(time.perf_counter() - started)
        writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return len(latencies) / seconds, *percentiles_ms(latencies)


def guestbook_post(port):
    """A guestbook entry's POST, as a browser sends it over https (the CSRF
    cookie and token of one visit, and its Origin), for python_http_load."""
    visit = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    visit.request("GET", "/", headers=VIA_PROXY)
    answer = visit.getresponse()
    page, cookie = answer.read(), answer.getheader("Set-Cookie").encode()
    visit.close()
    cookie = re.match(rb"csrftoken=[^;]+", cookie)[0]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    body = b"csrfmiddlewaretoken=" + token + b"&name=Bench&message=Hello%2C+bench%21"
    return (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n"
        b"Origin: https://127.0.0.1\r\nCookie: " + cookie + b"\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


async def steady_posts(port, request, per_second, seconds):
    """Send request per_second times a second, each on a connection of its own."""

    async def one():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        writer.close()
        if not head.startswith(b"HTTP/1.1 302 "):
            raise AssertionError(head.decode("latin-1").partition("\r\n")[0])

    sent = []
    for _ in range(per_second * seconds):
        sent.append(asyncio.create_task(one()))
        await asyncio.sleep(1 / per_second)
    await asyncio.gather(*sent)


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


async def room_broadcast(ports, members, messages):
    """Broadcast latency p50/p99 (ms) in a chat room of members spread over the
    given daphne ports: from one member's send until every member has it."""
    latencies = []
    opening = asyncio.Semaphore(50)
    async with AsyncExitStack() as stack:

        async def join(number):
            port = ports[number % len(ports)]
            url = f"ws://127.0.0.1:{port}/ws/chat/bench/"
            async with opening:
                socket = connect(url, origin=f"http://127.0.0.1:{port}")
                return await stack.enter_async_context(socket)

        room = await asyncio.gather(*map(join, range(members)))
        await asyncio.sleep(0.5)
        for number in range(messages):
            started = time.perf_counter()
            await room[0].send(json.dumps({"message": str(number)}))
            await asyncio.gather(*(member.recv() for member in room))
            latencies.append(time.perf_counter() - started)
    return percentiles_ms(latencies)


async def idle_sockets(server, count, path="/ws/echo/"):
    """Open count websockets, 50 at a time, and hold them for a second:
    (connects per second, the server's memory growth in KiB per socket)."""
    url = server.url.replace("http", "ws", 1) + path
    opening = asyncio.Semaphore(50)
    async with AsyncExitStack() as stack:

        async def one():
            async with opening:
                await stack.enter_async_context(connect(url, origin=server.url))

        await asyncio.sleep(0.5)
        before = rss_kib(server)
        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        elapsed = time.perf_counter() - started
        await asyncio.sleep(1)
        return count / elapsed, (rss_kib(server) - before) / count


async def chat_soak(ports, count, seconds, events):
    """count pages in the chat room "soak", spread over the daphne ports, each
    keeping its socket open as the baked page does (tests/pages.py). For
    seconds, the first says a numbered message each second; at each (second,
    name, action) of events, action() runs in a thread. Returns the pages, when
    each message was said (time.time()), and when each event began and ended."""
    pages = [
        Page(f"ws://127.0.0.1:{port}/ws/chat/soak/", f"http://127.0.0.1:{port}")
        for port in islice(cycle(ports), count)
    ]
    while not all(page.socket for page in pages):  # every page in the room
        await asyncio.sleep(0.1)
    said, happened, running = {}, {}, []
    started = time.monotonic()
    for second in range(seconds):
        running += [
            asyncio.create_task(timed(name, action, happened))
            for at, name, action in events
            if at == second
        ]
        if pages[0].socket is not None:
            with contextlib.suppress(WebSocketException):
                await pages[0].socket.send(json.dumps({"message": str(second)}))
                said[str(second)] = time.time()
        await asyncio.sleep(max(0, started + second + 1 - time.monotonic()))
    await asyncio.gather(*running)
    await asyncio.sleep(2)  # for the last message to reach every page
    for page in pages:
        await page.stop()
    return pages, said, happened


async def timed(name, action, happened):
    began = time.time()
    await asyncio.to_thread(action)
    happened[name] = (began, time.time())


def soak_figures(pages, said, restarts):
    """What a soak's pages heard: the messages acknowledged (heard back by the
    page that said them), deliveries, losses (not heard by a page open from a
    message's saying until 2 s after) and those missed while away; and how
    long the pages were away after each of restarts (name: (began, ended))."""
    acked = {json.loads(m)["message"] for _, m in pages[0].heard} & said.keys()
    delivered = lost = missed = 0
    for page in pages:
        heard = {json.loads(m)["message"] for _, m in page.heard} & acked
        delivered += len(heard)
        for text in acked - heard:
            if page.open_during(said[text], said[text] + 2):
                lost += 1
            else:
                missed += 1
    return {
        "acked": len(acked),
        "delivered": delivered,
        "lost": lost,
        "missed_while_away": missed,
        "away": {name: away_after(pages, *when) for name, when in restarts.items()},
    }


def away_after(pages, began, ended):
    """How long pages were away after a restart that began and ended then:
    from each close during it (or in the 5 s after) to the page's next open,
    and the first page back once it ended."""
    gaps, back, away = [], [], set()
    for number, page in enumerate(pages):
        for (_, closed), (opened, _) in pairwise(page.intervals):
            if began <= closed <= ended + 5:
                gaps.append(opened - closed)
                back.append(opened - ended)
                away.add(number)  # a page may be closed twice (two errors)
    if not gaps:
        return {"pages": 0, "p50": 0.0, "max": 0.0, "first_back_s": 0.0}
    return {
        "pages": len(away),
        "p50": statistics.median(gaps),
        "max": max(gaps),
        "first_back_s": min(back),
    }
