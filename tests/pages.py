"""Pages as a browser keeps them open: a websocket that opens itself again after
every close, with the policy of the baked page's script (a random wait of up
to 1 s, then up to 2, 4 ... 30 s), and remembers when it was open and what it
heard. The benchmark's soak and restart scenarios use it (the crowd for
thousands of them), and the tests check that the page's script says the same.
"""

import asyncio
import contextlib
import random
import time

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

CAP = 30  # seconds: the longest wait, as the page's Math.min(30, 2 ** tries)


def backoff(tries):
    """The page's wait, in seconds, before its next try after tries failed ones
    (0 when its socket was open): up to 1 s, then 2, 4 ... CAP."""
    return random.random() * min(CAP, 2**tries)  # noqa: S311  (not a secret)


async def reopening(open_socket, opened, closed):
    """Keep a websocket open as the page does, until cancelled: open it with
    open_socket(), await opened(socket) while it is open, and call closed()
    after each close or failed try."""
    tries = 0
    while True:
        try:
            async with await open_socket() as socket:
                tries = 0
                await opened(socket)
        except (OSError, TimeoutError, WebSocketException):
            pass  # refused, or closed without a close frame: the page tries again
        closed()
        await asyncio.sleep(backoff(tries))
        tries += 1


class Page:
    """A page's websocket to url, kept open until stop(): when it was open
    (open_at, and the intervals it was), and each message with when it came."""

    def __init__(self, url, origin):
        self.url, self.origin = url, origin
        self.open_at, self.intervals, self.heard, self.tries = None, [], [], 0
        self.socket = None
        self.task = asyncio.create_task(reopening(self.open, self.listen, self.closed))

    def open(self):
        self.tries += 1
        return connect(self.url, origin=self.origin, open_timeout=30)

    async def listen(self, socket):
        self.socket, self.open_at = socket, time.time()
        async for message in socket:
            self.heard.append((time.time(), message))

    def closed(self):
        if self.open_at is not None:
            self.intervals.append((self.open_at, time.time()))
        self.socket = self.open_at = None

    def open_during(self, start, end):
        """Whether the socket was open from start to end, without a break."""
        spans = [*self.intervals, (self.open_at, float("inf"))]
        return any(o is not None and o <= start and end <= c for o, c in spans)

    async def stop(self):
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        self.closed()
