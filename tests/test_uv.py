"""uv runs each bake from app.py's inline metadata, with no virtual environment."""

import re
import shutil

import pytest

from helpers import ROOT, get, greeting, option, run, serving, uv_env

UV_RUNSERVER = ["uv", "run", "app.py", "runserver", "--noreload", "127.0.0.1:{port}"]
UV_DAPHNE = [
    *["uv", "run", "--isolated", "--with-requirements", "app.py"],
    *["daphne", "-b", "127.0.0.1", "-p", "{port}", "app:application"],
]


# Each websocket choice, with and without a database (debug only changes .env).
UV_OPTIONS = [
    option(True, websocket, database)
    for websocket in ("none", "asgi", "channels")
    for database in (False, True)
]


@pytest.fixture(params=UV_OPTIONS)
def project(request, bake, tmp_path):
    """A copy of a bake, with its .env, as the user has it after baking."""
    return shutil.copytree(bake(request.param).project_path, tmp_path / "project")


def test_uv_runs_django_commands(project, uv_home):
    env = uv_env(uv_home)
    migrate = [["migrate", "-v", "0"]] * (project / "migrations").is_dir()

    outputs = [
        run("uv", "run", "app.py", *command, cwd=project, env=env).stdout
        for command in [*migrate, ["check"]]
    ]

    assert outputs[-1] == "System check identified no issues (0 silenced).\n"
    assert {p.name for p in project.iterdir()} & {".venv", "uv.lock"} == set()


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(UV_RUNSERVER, id="uv-run-app.py-runserver"),
        pytest.param(UV_DAPHNE, id="uv-run-with-requirements-daphne"),
    ],
)
def test_uv_serves(project, command, uv_home):
    log = project.parent / "server.log"

    with serving(command, project, log, env=uv_env(uv_home)) as server:
        status, headers, body = get(server.url, "/?name=uv")

    assert (status, greeting(body)) == (200, b"Hello, uv!")
    assert headers["Server"] == "daphne"
    assert "Traceback" not in log.read_text()


def test_readme_first_command_bakes_and_serves(uv_home, tmp_path):
    # The template README's first command, baking this checkout (a bare git
    # clone of it, the way `gh:` is fetched), with daphne on a free port and in
    # bash's place (so that stopping bash stops it).
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"Bake and run a site.*?```sh\n(.*?)\n```", readme, re.S)[1]
    run("git", "clone", "-q", "--bare", ROOT, tmp_path / "template.git", cwd=tmp_path)
    (tmp_path / "cookiecutter.yaml").write_text(
        f"cookiecutters_dir: {tmp_path / 'templates'}\nreplay_dir: {tmp_path}\n"
    )
    command = (
        command.replace("gh:<owner>/<repo>", f"git+file://{tmp_path / 'template.git'}")
        .replace("daphne app:application", "daphne -p {port} app:application")
        .replace("&& uv run", "&& exec uv run")
    )
    env = uv_env(uv_home, COOKIECUTTER_CONFIG=str(tmp_path / "cookiecutter.yaml"))

    bash = ["bash", "-c", command]
    with serving(bash, tmp_path, tmp_path / "log", env=env, timeout=120) as s:
        status, _, body = get(s.url, "/?name=Django%20user")

    assert (status, greeting(body)) == (200, b"Hello, Django user!")
