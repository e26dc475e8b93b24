import re
import shutil
import stat
import string
import subprocess
import tomllib

import pytest

from helpers import BIN, EVERY_OPTION, ROOT
from pages import CAP

FILES = {
    ".env",
    ".env.example",
    ".github",
    ".gitignore",
    ".pre-commit-config.yaml",
    "DEPLOY.md",
    "README.md",
    "app.py",
    "conftest.py",
    "pyproject.toml",
    "requirements-dev.txt",
    "requirements.txt",
    "test_app.py",
}
# secrets.token_urlsafe's alphabet: safe unquoted in .env, a shell and systemd.
KEY_ALPHABET = set(string.ascii_letters + string.digits + "-_")
APP_TEMPLATE = ROOT / "{{cookiecutter.project_slug}}" / "app.py"

# What the template's Jinja would leave behind (Django's own {% tags %} may stay).
JINJA = r"\{\{-?\s*cookiecutter|\{%-?\s*(el)?if\s[^%]*cookiecutter|\{%-?\s*(end)?raw\b"


def files_of(project):
    return [p for p in project.rglob("*") if p.is_file()]


@pytest.fixture(scope="session", params=EVERY_OPTION)
def baked(request, bake):
    """Every option combination, baked once (this module's tests run no server)."""
    return bake(request.param)


def requirements(project):
    lines = (project / "requirements.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def script_metadata(app):
    """app.py's inline script metadata, read as PEP 723's reference code reads it."""
    block = r"(?m)^# /// script$\s(?P<content>(^#(| .*)$\s)+)^# ///$"
    lines = re.search(block, app)["content"].splitlines(keepends=True)
    return tomllib.loads(
        "".join(line[2:] if line.startswith("# ") else line[1:] for line in lines)
    )


def read_env(project, name=".env"):
    lines = (project / name).read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return dict(pairs)


def test_bakes_the_expected_files(baked):
    files = {p.name for p in baked.project_path.iterdir()}

    assert baked.project_path.name == "my_django_site"
    assert files == FILES | ({"migrations"} if baked.context["database"] else set())


def test_leaves_no_template_syntax(baked):
    leftovers = [
        p.name for p in files_of(baked.project_path) if re.search(JINJA, p.read_text())
    ]

    assert leftovers == []


def test_passes_ruff(baked):
    check = subprocess.run(
        [BIN / "ruff", "check", "--no-cache", "."],
        cwd=baked.project_path,
        capture_output=True,
        text=True,
        check=False,
    )
    format_check = subprocess.run(
        [BIN / "ruff", "format", "--check", "--no-cache", "."],
        cwd=baked.project_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert (check.returncode, check.stdout) == (0, "All checks passed!\n")
    assert format_check.returncode == 0, format_check.stdout


def test_requirements_add_channels_only_to_its_variant(baked):
    packages = requirements(baked.project_path)

    expected = ["django>=5.2,<7", "daphne>=4.2.2", "environs>=14", "django-csp>=4.0,<5"]
    if baked.context["database"]:
        expected += ["dj-database-url>=2.1", "servestatic>=3"]
    if baked.context["tasks"]:
        expected += [
            "django-tasks-db>=0.13; python_version >= '3.12'",
            "django-tasks-db[compat]>=0.13; python_version < '3.12'",
            "dj-email-url>=1.0",
        ]
    if baked.context["websocket"] == "channels":
        expected += ["channels>=4.2", "channels-redis>=4.2"]
    assert packages == expected


def test_inline_metadata_is_requirements_txt(baked):
    app = (baked.project_path / "app.py").read_text()
    pyproject = tomllib.loads((baked.project_path / "pyproject.toml").read_text())

    metadata = script_metadata(app)

    assert app.startswith("# /// script\n")
    assert metadata == {
        "requires-python": pyproject["project"]["requires-python"],
        "dependencies": requirements(baked.project_path),
    }


def test_imports_channels_only_in_its_variant(baked):
    importers = [
        p.name
        for p in baked.project_path.glob("*.py")
        if re.search(r"^\s*(from|import) channels\b", p.read_text(), re.MULTILINE)
    ]

    channels = baked.context["websocket"] == "channels"
    # The tests use Channels' own test client.
    assert sorted(importers) == (["app.py", "test_app.py"] if channels else [])


def test_http_only_variant_has_no_websocket_routes(baked):
    app = (baked.project_path / "app.py").read_text()

    assert ("websocket_urlpatterns" in app) == (baked.context["websocket"] != "none")


def test_app_reads_as_the_idea_with_the_machinery_last(baked):
    # Lines are counted from the docstring: the inline metadata above it is uv's.
    app = (baked.project_path / "app.py").read_text()
    lines = app[app.index('"""') :].splitlines()

    def line_of(text):
        return next(i for i, line in enumerate(lines) if line.startswith(text))

    order = [
        line_of("settings.configure("),
        line_of("async def index("),
        line_of("urlpatterns = ["),
        line_of("async def application("),
        line_of("# Machinery:"),
        line_of("async def call_hooks_in_event_loop("),
        line_of('if __name__ == "__main__":'),
    ]
    assert order == sorted(order)
    # A database adds its settings and the guestbook's model before the view;
    # tasks, their mail settings and imports.
    limit = 100 + 100 * baked.context["database"] + 30 * baked.context["tasks"]
    assert line_of("async def index(") < limit


# The most lines each websocket choice may bake into app.py without a database,
# its inline metadata included.
LINE_BUDGET = {"none": 200, "asgi": 275, "channels": 346}


@pytest.mark.parametrize(
    "options", [p for p in EVERY_OPTION if not p.values[0]["database"]]
)
def test_app_keeps_within_its_line_budget(bake, options):
    app = (bake(options).project_path / "app.py").read_text()

    assert len(app.splitlines()) <= LINE_BUDGET[options["websocket"]]


def test_the_pages_of_the_benchmark_wait_as_the_baked_page_does(baked):
    # tests/pages.py replays the page's backoff: a random share of 2 ** tries
    # seconds, at most CAP.
    app = (baked.project_path / "app.py").read_text()

    has_sockets = baked.context["websocket"] != "none"
    assert (f"Math.random() * Math.min({CAP}, 2 ** tries) * 1000" in app) == has_sockets


def test_template_jinja_encloses_whole_statements():
    # Each {% if %}, {% elif %}, {% else %} and {% endif %} stands on a line of
    # its own, so that what it keeps or drops is whole lines of code.
    for name in ("app.py", "test_app.py", "conftest.py"):
        text = (ROOT / "{{cookiecutter.project_slug}}" / name).read_text()

        inline = [
            line
            for line in text.splitlines()
            if re.search(r"\{%-?\s*(if|elif|else|endif)\b", line)
            and not re.fullmatch(r"\{%-?\s*(if|elif|else|endif)\b[^%]*%\}", line)
        ]

        assert inline == [], name


@pytest.mark.parametrize("name", [".env", ".env.example"])
def test_dotenv_holds_the_chosen_debug_and_plain_local_http(baked, name):
    env = read_env(baked.project_path, name)

    assert env["DJANGO_DEBUG"] == ("1" if baked.context["debug"] else "0")
    assert env["DJANGO_ALLOWED_HOSTS"] == "localhost,127.0.0.1,[::1]"
    assert env["DJANGO_SECURE_SSL_REDIRECT"] == "0"
    assert env["DJANGO_SECURE_HSTS_SECONDS"] == "0"
    assert env["DJANGO_SECURE_COOKIES"] == "0"
    assert env["DJANGO_SECURE_PROXY_SSL_HEADER"] == ""
    if baked.context.get("tasks"):  # mail printed here, for someone to read
        assert (env.pop("EMAIL_URL"), env.pop("DJANGO_ADMINS")) == (
            "console://",
            "you@example.com",
        )
    assert len(env) == (7 if name == ".env" else 6)


def test_dotenv_is_the_example_and_a_key(baked):
    project = baked.project_path
    dotenv = (project / ".env").read_text()

    example, key_line = dotenv.removesuffix("\n").rsplit("\n", 1)

    assert f"{example}\n" == (project / ".env.example").read_text()
    assert key_line.startswith("DJANGO_SECRET_KEY=")


def test_secret_key_is_strong_and_dotenv_safe(baked):
    key = read_env(baked.project_path)["DJANGO_SECRET_KEY"]

    assert len(key) == 67
    assert set(key) <= KEY_ALPHABET


def test_dotenv_is_private(baked):
    mode = (baked.project_path / ".env").stat().st_mode

    assert stat.S_IMODE(mode) == 0o600


def test_dotenv_is_git_ignored_and_its_example_is_not(baked, tmp_path):
    project = shutil.copytree(baked.project_path, tmp_path / "project")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)

    ignored = subprocess.run(
        ["git", "check-ignore", ".env", ".env.example", "app.py", "README.md"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )

    assert ignored.stdout == ".env\n"


def test_secret_key_is_only_in_dotenv(baked):
    key = read_env(baked.project_path)["DJANGO_SECRET_KEY"]

    holders = [p.name for p in files_of(baked.project_path) if key in p.read_text()]

    assert holders == [".env"]


def test_every_bake_gets_its_own_key(cookies):
    keys = {read_env(cookies.bake().project_path)["DJANGO_SECRET_KEY"] for _ in "abc"}

    assert len(keys) == 3
