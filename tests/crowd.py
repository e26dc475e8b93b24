"""A crowd: many websockets held open at once, in processes of their own.

Each process of the crowd connects from a loopback address of its own (so that
no address runs out of ports, and no process out of open files), opens sockets
when told to, holds them, and echoes one message on each; or keeps them open as
the baked page does, opening each again after a close with the page's backoff
(pages.py). The capacity test and the benchmark's capacity and restart
scenarios (bench/) use it. Run as a script, this file is one such process, told
what to do one line at a time on its stdin.
"""

import asyncio
import json
import socket
import ssl
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from websockets.asyncio.client import connect

from pages import reopening

OPENING = 50  # handshakes in flight at once, in each process
PER_PROCESS = 8000  # sockets a process holds at most
TIMEOUT = 5  # seconds a handshake may take before it counts as refused
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)  # Linux


class Crowd:
    """The processes of a crowd, as one (see crowd())."""

    def __init__(self, processes):
        self.processes = processes

    def ask(self, commands):
        """Give each process its command line; their replies."""
        for process, command in zip(self.processes, commands, strict=True):
            process.stdin.write(command + "\n")
            process.stdin.flush()
        return [json.loads(process.stdout.readline()) for process in self.processes]

    def grow(self, count):
        """Open count more sockets (shared by the processes):
        (how many opened, seconds taken, the first error or None)."""
        share, extra = divmod(count, len(self.processes))
        started = time.perf_counter()
        replies = self.ask(
            f"grow {share + (number < extra)}" for number in range(len(self.processes))
        )
        errors = [reply["error"] for reply in replies if reply["error"]]
        opened = sum(reply["opened"] for reply in replies)
        return opened, time.perf_counter() - started, errors[0] if errors else None

    def echo(self):
        """Send one message on every open socket at once: the seconds each took
        to come back, and how many did not."""
        replies = self.ask(["echo"] * len(self.processes))
        seconds = [s for reply in replies for s in reply["seconds"]]
        return seconds, sum(reply["lost"] for reply in replies)

    def keep(self):
        """From now on, open each socket again after it closes, as the page
        does (until the crowd ends)."""
        self.ask(["keep"] * len(self.processes))

    def kept(self):
        """How the kept sockets fare: how many are open now, every time one
        opened again (time.time()), and the tries that failed."""
        replies = self.ask(["kept"] * len(self.processes))
        reopened = [t for reply in replies for t in reply["reopened"]]
        failed = sum(reply["failed"] for reply in replies)
        return sum(reply["open"] for reply in replies), reopened, failed


@contextmanager
def crowd(url, capacity, origin, server_hostname=None, port=None):
    """A crowd of up to capacity sockets to url (ws:// or wss://, the latter
    without a certificate check), sent to 127.0.0.1 on port if given."""
    count = -(-capacity // PER_PROCESS)
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                Path(__file__),
                url,
                origin,
                f"127.0.1.{number + 1}",
                server_hostname or "",
                str(port or ""),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for number in range(count)
    ]
    try:
        yield Crowd(processes)
    finally:
        for process in processes:
            process.stdin.close()
        for process in processes:
            process.wait(timeout=60)
            process.stdout.close()


# One process of the crowd.


NO_TLS_CHECK = ssl._create_unverified_context()  # noqa: S323  (a test certificate)


async def member(url, origin, source, server_hostname, port, timeout=TIMEOUT):
    options = {"origin": origin, "ping_interval": None, "open_timeout": timeout}
    parts = urlsplit(url)
    address = ("127.0.0.1", int(port)) if port else (parts.hostname, parts.port)
    options["sock"] = await connected(source, address, timeout)
    if url.startswith("wss:"):
        options |= {"ssl": NO_TLS_CHECK, "server_hostname": server_hostname}
    return await connect(url, **options)


async def connected(source, address, timeout=TIMEOUT):
    """A TCP socket from source to address. Its port is chosen when it connects
    (IP_BIND_ADDRESS_NO_PORT), so that a port in use towards one address can
    serve another too: binding first would take the port from every address,
    nginx's own connections to daphne included."""
    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
    sock.setblocking(False)
    sock.bind((source, 0))
    try:
        async with asyncio.timeout(timeout):
            await asyncio.get_running_loop().sock_connect(sock, address)
    except BaseException:
        sock.close()
        raise
    return sock


async def grow(sockets, count, *target):
    opening, errors = asyncio.Semaphore(OPENING), []

    async def one():
        async with opening:
            if errors:  # stop at the first refusal: where it stopped
                return
            try:
                sockets.append(await member(*target))
            except Exception as error:  # noqa: BLE001  (reported as it came)
                errors.append(f"{type(error).__name__}: {error}")

    before = len(sockets)
    await asyncio.gather(*(one() for _ in range(count)))
    return {"opened": len(sockets) - before, "error": errors[0] if errors else None}


async def echo(sockets):
    async def one(socket):
        started = time.perf_counter()
        await socket.send("hello")
        await socket.recv()
        return time.perf_counter() - started

    outcomes = await asyncio.gather(*map(one, sockets), return_exceptions=True)
    seconds = [o for o in outcomes if isinstance(o, float)]
    return {"seconds": seconds, "lost": len(outcomes) - len(seconds)}


class Kept:
    """A socket of the crowd kept open as the page keeps its own."""

    def __init__(self, socket, target):
        self.first, self.target = socket, target
        self.open, self.reopened, self.failed = True, [], 0

    async def open_socket(self):
        socket, self.first = self.first, None
        # As a browser waits: the page's socket has no handshake timeout.
        return socket or await member(*self.target, timeout=60)

    async def opened(self, socket):
        if not self.open:
            self.open = True
            self.reopened.append(time.time())
        await socket.wait_closed()

    def closed(self):
        self.failed += not self.open  # a try that failed, not a close
        self.open = False


async def serve(target):
    sockets, kept, tasks, loop = [], [], [], asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        command, *argument = line.split()  # grow <count>, echo, keep or kept
        if command == "grow":
            reply = await grow(sockets, int(argument[0]), *target)
        elif command == "echo":
            reply = await echo(sockets)
        elif command == "keep":
            kept = [Kept(socket, target) for socket in sockets]
            tasks = [
                asyncio.create_task(reopening(k.open_socket, k.opened, k.closed))
                for k in kept
            ]
            reply = {"kept": len(kept)}
        else:
            reply = {
                "open": sum(k.open for k in kept),
                "reopened": [t for k in kept for t in k.reopened],
                "failed": sum(k.failed for k in kept),
            }
        print(json.dumps(reply), flush=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1:]))
