"""What the template's tests share: option combinations, servers, requests."""

import asyncio
import contextlib
import email
import glob
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from aiosmtpd.controller import Controller
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def option(debug, websocket, database, tasks=False):
    """One option combination, with a readable id such as "nodebug-asgi-database"."""
    name = f"{'debug' if debug else 'nodebug'}-{websocket}" + "-database" * database
    answers = {"debug": debug, "websocket": websocket, "database": database}
    if tasks:
        return pytest.param(answers | {"tasks": True}, id=f"{name}-tasks")
    return pytest.param(answers, id=name)


# Every option combination: baking is cheap, so the bake's own tests see them all.
WEBSOCKETS = ("none", "asgi", "channels")
EVERY_OPTION = [
    option(debug, websocket, database)
    for database in (False, True)
    for websocket in WEBSOCKETS
    for debug in (True, False)
]
# One of each bake: debug only changes .env, which the baked tests override.
SIX = [p for p in EVERY_OPTION if not p.values[0]["debug"]]
# Background tasks need the database: with each websocket choice.
TASKS = [option(False, websocket, True, True) for websocket in WEBSOCKETS]
EVERY_OPTION += TASKS
# The combinations served by real processes: debug only changes .env, and the
# database adds the same settings and pages to every websocket choice, so one
# bake with a database is served here (test_database.py serves it further).
OPTIONS = [p for p in EVERY_OPTION if not p.values[0]["database"]] + [
    option(False, "channels", True),
]


# Deployed, a bake has no .env, where debug lives: a debug bake is then the
# same as its nodebug twin, so production tests serve only the latter.
DEPLOYED = [p for p in OPTIONS if not p.values[0]["debug"]]


def only(websocket, options=OPTIONS):
    """The combinations without a database that have one of these websockets."""
    return [
        p
        for p in options
        if p.values[0]["websocket"] in websocket and not p.values[0]["database"]
    ]


def clean_env(**extra):
    """This process's environment without any DJANGO_* variable, plus extra.

    A baked project then reads its settings from its own .env, as it would on
    the developer's machine.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return env | extra


def run(*args, cwd, env=None, timeout=600):
    """Run a command to completion; it must succeed. Returns the result."""
    result = subprocess.run(
        args,
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


# The last line of a passing pytest run.
PASSED = r"=+ \d+ passed(, \d+ subtests passed)? in [\d.]+s( \([\d:]+\))? =+"

# git with an author, for commits the tests make.
GIT_AS_TESTER = ["git", "-c", "user.name=Tester", "-c", "user.email=tester@example.com"]


def uv_env(home, **extra):
    """The environment of a new uv user, from the uv_home fixture: uv and uvx on
    PATH, Python downloads off (uv must use an interpreter of this machine), no
    virtual environment active, and Python caching bytecode in what uv installs
    (as it does by default, which this machine turns off)."""
    env = clean_env(
        PATH=f"{home / 'bin'}{os.pathsep}{os.environ['PATH']}",
        UV_CACHE_DIR=str(home / "cache"),
        UV_PYTHON_DOWNLOADS="never",
        **extra,
    )
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, log, timeout=20, address="127.0.0.1"):
    """Wait until something accepts connections on port, or fail with the log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited early:\n{log.read_text()}")
        try:
            socket.create_connection((address, port), timeout=0.5).close()
        except OSError:
            time.sleep(0.05)
        else:
            return
    pytest.fail(
        f"nothing listened on port {port} within {timeout}s:\n{log.read_text()}"
    )


@dataclass
class Server:
    url: str
    log: Path
    process: subprocess.Popen
    started: float  # time.perf_counter() just before the process started

    @property
    def port(self):
        return urlsplit(self.url).port


@contextmanager
def serving(
    command, cwd, log, env=None, port=None, timeout=20, migrate=True, stop_timeout=10
):
    """Run a server command (with {port} in it) until the block ends.

    Yields a Server once the port accepts connections; the server's output goes
    to the file log. Tests and the benchmark (bench/run.py) run servers so. A
    bake with a database is migrated first (unless migrate is false), on a
    SQLite file of this server's own unless env names a DATABASE_URL.
    """
    port = port or free_port()
    env = env or clean_env()
    if migrate and (Path(cwd) / "migrations").is_dir():
        env = {"DATABASE_URL": f"sqlite:///{log.parent / 'db.sqlite3'}"} | env
        migrating = [sys.executable, "app.py", "migrate", "--verbosity", "0"]
        subprocess.run(migrating, cwd=cwd, env=env, check=True)
    with log.open("w") as out:
        started = time.perf_counter()
        # A session of its own: stopping it stops what it started too (the
        # child of `uv run`, or of runserver's reloader).
        process = subprocess.Popen(
            [str(arg).format(port=port) for arg in command],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, process, log, timeout)
        yield Server(f"http://127.0.0.1:{port}", log, process, started)
    finally:
        stop(process, stop_timeout)


def stop(process, timeout=10):
    """SIGTERM a process started in a session of its own, and what it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=timeout)


def daphne_command(app):
    return [BIN / "daphne", "-b", "127.0.0.1", "-p", "{port}", app]


DAPHNE = daphne_command("app:application")
# A redis-server on loopback with persistence off (add --dir for its files).
REDIS = [
    "redis-server",
    "--bind",
    "127.0.0.1",
    "--port",
    "{port}",
    "--save",
    "",
    "--appendonly",
    "no",
]


@contextmanager
def redis_server(where, port=None):
    """A real redis-server on loopback, persistence off; yields its URL."""
    if not shutil.which("redis-server"):
        pytest.skip("no redis-server here, and tests/run.sh could not install it")
    log = where / "redis.log"
    with serving([*REDIS, "--dir", where], where, log, port=port) as server:
        yield f"redis://127.0.0.1:{server.port}/0", server.port


def postgres_program(name):
    """A PostgreSQL server program: on PATH, or Debian's newest versioned one."""
    versions = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    newest = max(versions, key=lambda path: int(Path(path).parts[-3]), default=None)
    return shutil.which(name) or newest


def as_postgres(command):
    """PostgreSQL refuses to run as root: run its programs as the postgres user."""
    return (
        ["runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else command
    )


def postgres_cluster():
    """initdb a new cluster (trust on loopback) in a new folder: its path.

    The folder is outside pytest's, which only root may enter."""
    data = Path(tempfile.mkdtemp(prefix="postgres-"))
    if os.getuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    initdb = [postgres_program("initdb"), "-D", data, "-U", "postgres", "-A", "trust"]
    subprocess.run(as_postgres(initdb), check=True, capture_output=True)
    return data


@contextmanager
def serving_postgres(data, log, port=None):
    """A PostgreSQL server on the cluster in data, in the foreground, until the
    block ends; yields its Server once it answers queries (it accepts
    connections a moment before)."""
    command = as_postgres(
        [
            postgres_program("postgres"),
            "-D",
            data,
            "-p",
            "{port}",
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={data}",
        ]
    )
    with serving(command, data, log, port=port, migrate=False) as server:
        ready = [postgres_program("pg_isready"), "-q", "-h", "127.0.0.1"]
        deadline = time.monotonic() + 20
        while subprocess.run([*ready, "-p", str(server.port)]).returncode != 0:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        try:
            yield server
        finally:  # a fast shutdown, not one that waits for clients to leave
            stopping = [postgres_program("pg_ctl"), "stop", "-D", data, "-m", "fast"]
            subprocess.run(as_postgres(stopping), capture_output=True)


def pg_ctl(data, action):
    """pg_ctl stop/status/... on the cluster in data, waiting for it."""
    command = [postgres_program("pg_ctl"), action, "-D", data, "-w", "-m", "fast"]
    subprocess.run(as_postgres(command), check=True, capture_output=True)


def daphne_serving(baked, tmp_path_factory):
    """A real `daphne app:application` serving a bake with its .env (a context
    manager yielding a Server)."""
    log = tmp_path_factory.mktemp("daphne") / "daphne.log"
    return serving(DAPHNE, baked.project_path, log)


def production_copy(project, destination):
    """A copy of a baked project as it is deployed: without its .env."""
    return shutil.copytree(project, destination, ignore=shutil.ignore_patterns(".env"))


# Headless Chromium as root on a machine with no network but loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def open_page(browser, url):
    """A new page at url, and the list its Content-Security-Policy violations
    go to (as the console reports them)."""
    page = browser.new_page()
    violations = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text
            and violations.append(message.text)
        ),
    )
    page.goto(url)
    return page, violations


# What the TLS-terminating proxy adds to every request it passes on.
VIA_PROXY = {"X-Forwarded-Proto": "https"}

# What a deployment sets; everything else keeps app.py's production defaults.
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "production-" + "k3y-" * 12,
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
}


def get(url, path="/", headers=None, method="GET", body=None):
    """Ask the server at url for path; return (status, headers, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


class Visitor:
    """A browser's part in the guestbook: its CSRF cookie and the form's token."""

    def __init__(self, server):
        self.url = server.url
        status, headers, body = get(self.url, headers=VIA_PROXY)
        assert status == 200, body
        self.cookie = headers["Set-Cookie"].partition(";")[0]
        self.token = re.search(rb'name="csrfmiddlewaretoken" value="(\w+)"', body)[1]

    def sign(self, name, message):
        """Post the form; return the response's status and Location."""
        form = {"csrfmiddlewaretoken": self.token, "name": name, "message": message}
        headers = {
            **VIA_PROXY,
            "Cookie": self.cookie,
            "Origin": f"https://{self.url.partition('://')[2]}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        status, response_headers, _ = get(
            self.url, method="POST", headers=headers, body=urlencode(form)
        )
        return status, response_headers.get("Location")


def rss_kib(process):
    """The resident memory of a process, from Linux's /proc."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status)[1])


def wait_for_log(log, text, timeout=5):
    """Return the log once text shows up in it (servers write it after replying)."""
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        if time.monotonic() > deadline:
            pytest.fail(f"{text!r} never reached the log:\n{log.read_text()}")
        time.sleep(0.05)
    return log.read_text()


def greeting(body):
    """The greeting: the whole plain page, or the <h1> of the websocket demo page."""
    match = re.search(rb"<h1>(.*)</h1>", body)
    return match[1] if match else body


def open_socket(url, path, origin="same", host=None, cookie=None):
    """Connect like a browser on url's page would: Origin is the page's own.

    host replaces the Host header (the TCP connection still goes to url), and
    cookie is a session cookie to send.
    """
    parts = urlsplit(url)
    origin = url if origin == "same" else origin
    netloc = f"{host}:{parts.port}" if host else parts.netloc
    headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
    return connect(
        f"ws://{netloc}{path}",
        origin=origin,
        host=parts.hostname,
        port=parts.port,
        additional_headers=headers,
    )


class Inbox:
    """What a real SMTP server received; its first RCPT can be made to hang."""

    def __init__(self, hang_first=0):
        self.mails, self.hang_first, self.rcpts = [], hang_first, 0
        self.hanging = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, options):
        self.rcpts += 1
        if self.rcpts == 1 and self.hang_first:
            self.hanging.set()
            await asyncio.sleep(self.hang_first)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.mails.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self):
        return sorted(mail["Subject"] for mail in self.mails)


@contextmanager
def smtp_server(inbox, port):
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
