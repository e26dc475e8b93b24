"""A new user's first day with a bake, as its README tells it.

Each journey bakes, then does what a person does on the first day, with the
code and the commands exactly as the baked README gives them: add a page and
its test, a style, a JSON endpoint and its test, a websocket route, a field
and a model; commit and clone the project fresh (no .env) and follow the
README's words for that; set up and run every command the README shows on the
journey's route (uv, or the virtual environment), the project's own tests and
the production check among them;
then serve with DEBUG off, where every page, the admin included, answers, and
the JSON endpoint answers JSON, its errors too.
"""

import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

from helpers import (
    PASSED,
    as_postgres,
    clean_env,
    get,
    open_page,
    postgres_program,
    run,
    serving,
    serving_postgres,
    uv_env,
)
from readme import (
    JSON_ENDPOINT,
    UV,
    VENV,
    add_view,
    blocks,
    commands,
    is_server,
    section,
)

# Each websocket choice with a database, and the default bake; both routes.
JOURNEYS = [
    pytest.param(
        {"websocket": "none", "database": False, "debug": True}, VENV, id="default-venv"
    ),
    pytest.param(
        {"websocket": "none", "database": True, "debug": True}, UV, id="database-uv"
    ),
    pytest.param(
        {"websocket": "asgi", "database": True, "debug": False},
        VENV,
        id="asgi-database-nodebug-venv",
    ),
    pytest.param(
        {"websocket": "channels", "database": True, "debug": True},
        UV,
        id="channels-database-uv",
    ),
]
USERNAME, EMAIL, PASSWORD = "admin", "admin@example.com", "a long, varied phrase 42"
NEW_CLONE = "### A new clone"
GIT_AUTHOR = {
    f"GIT_{role}_{key}": value
    for role in ("AUTHOR", "COMMITTER")
    for key, value in (("NAME", "Tester"), ("EMAIL", "tester@example.com"))
}
CHECKED = "System check identified no issues (0 silenced).\n"
PURPLE = "rgb(102, 51, 153)"  # rebeccapurple, the README's style
ADMIN_BLUE = "rgb(65, 118, 144)"  # the admin's header, from its style sheet
# What the README's example websocket route answers to "hello".
SHOUT = {"asgi": ("/ws/shout/hello/", None), "channels": ("/ws/shout/", "hello")}


def replace_statement(text, start, block):
    """text with its statement that begins with start, and ends with a line
    ending in "]", replaced by block."""
    begin = text.index(f"\n{start}") + 1
    end = text.index("]\n", begin) + 2
    return text[:begin] + block + text[end:]


def insert_after(text, anchor, block):
    assert anchor in text
    return text.replace(anchor, anchor + block, 1)


def grow(project, readme, websocket, database):
    """The first day's changes to the code, as the README shows them."""
    page, api = section(readme, "## Add a page"), section(readme, JSON_ENDPOINT)
    [style] = blocks(section(readme, "## Add a style"), "html")
    code = (project / "app.py").read_text()
    # Views and their templates go below PAGE: just above urlpatterns.
    code = add_view(add_view(code, page), api)
    code = insert_after(code, "<title>Hello</title>\n", style)
    if websocket != "none":
        route, _client = blocks(section(readme, "## Websockets"), "python")
        code = replace_statement(code, "websocket_urlpatterns = [", route)
    if database:
        models = section(readme, "## Models and the database")
        field, model = blocks(models, "python")
        code = code.replace(field.splitlines(keepends=True)[0], field, 1)
        code = insert_after(code, "admin.site.register(Entry)\n", f"\n\n{model}")
    (project / "app.py").write_text(code)
    tests = project / "test_app.py"
    added = "\n\n".join(blocks(text, "python")[-1] for text in (page, api))
    tests.write_text(f"{tests.read_text()}\n\n{added}")


def fresh_clone(project, where):
    """A teammate's clone of project's git repository: no .env."""
    clone = where / "clone" / project.name
    run("git", "clone", "-q", project, clone, cwd=where)
    return clone


def on_a_port(command):
    """A README command that serves on port 8000, on serving()'s port instead."""
    if "tcp:8000:" in command:
        return command.replace("tcp:8000:", "tcp:{port}:")
    if re.search(r"\brunserver\b", command):
        return re.sub(r"\brunserver\b", "runserver 127.0.0.1:{port}", command)
    return command.replace("daphne app:application", "daphne -p {port} app:application")


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(self.unix_path))


class Day:
    """One user on one route (UV or VENV) in one project, doing as the README says.

    Every shell block the README has for that route must be followed once.
    """

    def __init__(self, project, route, env, readme):
        self.project, self.route, self.env, self.readme = project, route, env, readme
        self.unfollowed = [b for b in blocks(readme, "sh") if commands(b, route)]
        self.served = []  # the status of "/" from each server a command started

    def commands(self, heading, nth):
        return commands(blocks(section(self.readme, heading), "sh")[nth], self.route)

    def typed(self, command):
        """command as typed in the virtual environment, on that route."""
        if self.route == VENV and (self.project / ".venv").exists():
            return f". .venv/bin/activate && {command}"
        return command

    def shell(self, command, **env):
        bash = ["bash", "-c", self.typed(command)]
        return run(*bash, cwd=self.project, env=self.env | env)

    def follow(self, heading, nth=None, **env):
        """Run the commands of every shell block under heading (or its nth),
        in order: servers are started, asked for "/" and stopped. The other
        commands' outputs."""
        outputs = []
        found = blocks(section(self.readme, heading), "sh")
        for block in found if nth is None else [found[nth]]:
            if block not in self.unfollowed:
                continue  # another route's block, or followed already
            self.unfollowed.remove(block)
            for command in commands(block, self.route):
                if " -e unix:" in command:
                    self.served.append(self.serve_on_a_unix_socket(command))
                elif is_server(command):
                    with self.serving(command, env) as server:
                        self.served.append(get(server.url)[0])
                elif command.endswith(" createsuperuser"):
                    outputs.append(self.create_superuser(command))
                else:
                    outputs.append(self.shell(command, **env).stdout)
        return outputs

    def serving(self, command, env=None):
        """A README server command, running until the block ends."""
        bash = ["bash", "-c", self.typed(f"exec {on_a_port(command)}")]
        log = self.project.parent / "server.log"
        env = self.env | (env or {})
        return serving(bash, self.project, log, env, timeout=60, migrate=False)

    def serve_on_a_unix_socket(self, command):
        path = self.project.parent / "daphne.sock"
        command = re.sub(r"-e unix:[^:]+", f"-e unix:{path}", command)
        process = subprocess.Popen(
            ["bash", "-c", self.typed(f"exec {command}")],
            cwd=self.project,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while not path.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            connection = UnixHTTPConnection(path)
            try:
                connection.request("GET", "/", headers={"Host": "localhost"})
                return connection.getresponse().status
            finally:
                connection.close()
        finally:
            process.terminate()
            process.wait(timeout=10)

    def create_superuser(self, command):
        """The interactive createsuperuser, answered at its prompts."""
        child = pexpect.spawn(
            "bash",
            ["-c", self.typed(command)],
            cwd=str(self.project),
            env=self.env,
            encoding="utf-8",
            timeout=120,
        )
        for prompt, answer in [
            ("Username", USERNAME),
            ("Email address", EMAIL),
            ("Password:", PASSWORD),
            (r"Password \(again\):", PASSWORD),
        ]:
            child.expect(prompt)
            child.sendline(answer)
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
        return child.before.strip()


def migrate_on_postgresql(day, postgres, name):
    """The README's migrate command, with DATABASE_URL naming a new database
    on a real PostgreSQL: its output."""
    data, url, port = postgres
    createdb = [postgres_program("createdb"), "-h", "127.0.0.1", "-p", str(port)]
    _makemigrations, migrate = day.commands("## Models and the database", 0)
    log = day.project.parent / "postgres.log"
    with serving_postgres(data, log, port=port):
        run(*as_postgres(createdb), name, cwd=data)
        url = f"{url.rsplit('/', 1)[0]}/{name}"
        return day.shell(migrate, DATABASE_URL=url).stdout


def readme_client(readme, url):
    """What the README's example websocket client prints, run against url."""
    [_route, client] = blocks(section(readme, "## Websockets"), "python")
    code = client.replace("http://localhost:8000", url).replace(
        "ws://localhost:8000", url.replace("http", "ws", 1)
    )
    return run(sys.executable, "-c", code, cwd=Path.cwd()).stdout


def shout(url, websocket):
    """What the README's example websocket route answers to "hello"."""
    path, message = SHOUT[websocket]
    with connect(url.replace("http", "ws", 1) + path, origin=url) as socket:
        if message:
            socket.send(message)
        return socket.recv(timeout=10)


def ask_the_api(url):
    """The README's JSON endpoint, and errors under /api/, as a program sees
    them: [(status, JSON)]."""
    host = {"Host": "localhost"}
    asked = [
        get(url, "/api/hello/?name=Day", host),
        get(url, "/api/nowhere/", host),
        get(url, "/api/hello/", host, method="POST", body=b"{}"),  # no CSRF token
        get(url, "/api/hello/", {"Host": "evil.example"}),  # not in ALLOWED_HOSTS
    ]
    return [(status, json.loads(body)) for status, _, body in asked]


def look_around(browser, url, database):
    """Every page, as a person sees it: {what: seen}, and the CSP's complaints."""
    page, violations = open_page(browser, f"{url}/?name=Day")
    seen = {"greeting": page.locator("h1").evaluate("h => getComputedStyle(h).color")}
    seen["about"] = page.goto(f"{url}/about/").status
    if database:
        page.goto(f"{url}/admin/app/tag/")
        page.get_by_label("Username").fill(USERNAME)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#content h1")).to_have_text("Select tag to change")
        seen["admin"] = page.locator("#header").evaluate(
            "h => getComputedStyle(h).backgroundColor"
        )
    page.close()
    return seen, violations


@pytest.fixture
def sqlite3_cli():
    if not shutil.which("sqlite3"):
        pytest.skip("no sqlite3 here, and tests/run.sh could not install it")


@pytest.mark.parametrize(("options", "route"), JOURNEYS)
def test_first_day(
    options, route, bake, uv_home, browser, postgres, sqlite3_cli, tmp_path
):
    websocket, database = options["websocket"], options["database"]
    baked = bake(options).project_path
    # README.md, then DEPLOY.md: every shell block of both is followed.
    readme = (baked / "README.md").read_text() + (baked / "DEPLOY.md").read_text()
    project = shutil.copytree(baked, tmp_path / "work" / baked.name)
    env = (uv_env(uv_home) if route == UV else clean_env()) | GIT_AUTHOR
    day = Day(project, route, env, readme)
    [*_, run_it] = day.commands("## Set up and run", 0 if route == UV else 1)

    day.follow("## Set up and run", nth=0 if route == UV else 1)
    grow(project, readme, websocket, database)
    if database:
        day.follow("## Models and the database")
        day.follow("## The database")  # DEPLOY.md's: static files, backups, psycopg
        on_postgresql = migrate_on_postgresql(day, postgres, f"day_{websocket}")
    [tests, ruff] = day.follow("## Test", PYTEST_ADDOPTS="-v")[-2:]
    production_check = day.follow("## Production settings")
    day.follow("## daphne behind a reverse proxy")
    with day.serving(run_it, {"DJANGO_DEBUG": "0"}) as debug_off:
        answer = shout(debug_off.url, websocket) if websocket != "none" else None
        client = readme_client(readme, debug_off.url) if websocket != "none" else None
        seen, violations = look_around(browser, debug_off.url, database)
        api = ask_the_api(debug_off.url)
    day.shell("git init -q && git add . && git commit -qm 'A new site'")
    clone = Day(fresh_clone(project, tmp_path), route, env, readme)
    clone.follow(NEW_CLONE)
    clone.follow("## Set up and run", nth=0 if route == UV else 1)

    assert day.unfollowed == blocks(section(readme, NEW_CLONE), "sh")
    assert day.served == [200] * len(day.served)
    assert clone.served == [200]  # plain http, as .env.example says
    assert "test_app.py::AboutTests::test_links_back_to_the_greeting PASSED" in tests
    assert "test_app.py::ApiHelloTests::test_says_hello_in_json PASSED" in tests
    assert re.fullmatch(PASSED, tests.splitlines()[-1])
    assert ruff.endswith("All checks passed!\n")
    assert production_check == ["", CHECKED]  # the key's file, then the check
    assert answer == (None if websocket == "none" else "HELLO")
    assert client == (None if websocket == "none" else "Hello\n")
    assert seen == {
        "greeting": PURPLE,
        "about": 200,
        **({"admin": ADMIN_BLUE} if database else {}),
    }
    assert violations == []
    assert api == [
        (200, {"hello": "Day", **({"signed": []} if database else {})}),
        (404, {"error": "Not Found"}),
        (403, {"error": "Forbidden"}),
        (400, {"error": "Bad Request"}),
    ]
    if database:  # every migration, the one of this day's changes too
        migrations = list((project / "migrations").glob("0*.py"))
        assert on_postgresql.count("Applying app.") == len(migrations) == 2
