"""What the benchmark serves: bakes of the template, the reference apps beside
them (bench/reference/), the variants that take one feature out of a bake, and
the servers that serve them."""

import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
# Servers run as in the tests, through the same helper.
from helpers import BIN, ROOT, clean_env, serving  # noqa: E402

REFERENCE = ROOT / "bench" / "reference"

# How each server serves an {app} (module:attribute, or nanodjango's script) on
# {port}, as its docs say.
SERVERS = {
    "daphne": [BIN / "daphne", "-b", "127.0.0.1", "-p", "{port}", "{app}"],
    "uvicorn": [BIN / "uvicorn", "--host", "127.0.0.1", "--port", "{port}", "{app}"],
    "granian": [
        BIN / "granian",
        "--interface",
        "asgi",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "{app}",
    ],
    # collectstatic, makemigrations and migrate, then uvicorn, DEBUG as the app says
    "nanodjango": [BIN / "nanodjango", "serve", "{app}", "127.0.0.1:{port}"],
}


class Contender:
    """One contender: an ASGI app served by its own server process."""

    def __init__(self, name, cwd, app, env=None, server="daphne"):
        self.name, self.cwd, self.app, self.env = name, cwd, app, env or {}
        self.server = server

    def serving(self, work, port=None):
        log = work / (re.sub(r"\W+", "-", self.name) + ".log")
        command = [str(arg).replace("{app}", self.app) for arg in SERVERS[self.server]]
        env, bake = clean_env(**self.env), (Path(self.cwd) / "app.py").exists()
        # daphne gives what a closing socket still runs 10 s before it kills
        # it (--application-close-timeout): a stop may take longer than that.
        return serving(command, self.cwd, log, env, port, migrate=bake, stop_timeout=30)


class Bench:
    """What the scenarios of one run share: its arguments, a work folder, the
    bakes (made once, deployed as in production: no .env) and the settings of
    a production deployment."""

    def __init__(self, args, work, stack):
        self.args, self.work, self.stack = args, work, stack
        self.production = {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        }
        self.bakes, self.bake_seconds = {}, []

    def bake(self, websocket="none", database=False, tasks=False):
        """A bake with these options (the real cookiecutter command), once."""
        key = (websocket, database, tasks)
        if key not in self.bakes:
            output = self.work / "-".join(
                [websocket] + ["database"] * database + ["tasks"] * tasks
            )
            started = time.perf_counter()
            subprocess.run(
                [BIN / "cookiecutter", "--no-input", "-f", "-o", output, ROOT]
                + [f"websocket={websocket}", f"database={str(database).lower()}"]
                + [f"tasks={str(tasks).lower()}"],
                check=True,
                capture_output=True,
            )
            self.bake_seconds.append(time.perf_counter() - started)
            (output / "my_django_site" / ".env").unlink()
            self.bakes[key] = output / "my_django_site"
        return self.bakes[key]

    def template(self, name, websocket="none", database=False, server="daphne"):
        """A contender serving a bake's app:application."""
        project = self.bake(websocket, database)
        return Contender(name, project, "app:application", self.production, server)

    def median_bake_seconds(self):
        return statistics.median(self.bake_seconds)


def variant(project, destination, replacements):
    """A copy of a bake with each (text, replacement) made once in app.py."""
    copy = shutil.copytree(project, destination)
    app = (copy / "app.py").read_text()
    for text, replacement in replacements:
        assert app.count(text) == 1, text
        app = app.replace(text, replacement)
    (copy / "app.py").write_text(app)
    return copy


def without_event_loop_hooks(project, destination):
    """The default bake without app.py's speed section: Django's own thread hops
    for every middleware hook (to measure what the section does)."""
    return variant(
        project,
        destination,
        [
            (
                "    import_string(name).__acall__ = call_hooks_in_event_loop\n",
                "    pass\n",
            ),
            (
                "    CsrfViewMiddleware.__acall__ = call_hooks_in_event_loop\n",
                "    pass\n",
            ),
        ],
    )


def without_auth(project, destination):
    """The Channels bake with a database, its websockets without Channels'
    AuthMiddlewareStack (to measure what knowing the user costs)."""
    return variant(
        project,
        destination,
        [
            (
                "websocket_router = AuthMiddlewareStack(routes)",
                "websocket_router = routes",
            ),
            ('self.scope["user"].get_username() or "anonymous"', '"anonymous"'),
        ],
    )
