"""Every bake's own tests pass, as baked and after the edits its README invites;
and the machinery the bake's tests leave alone holds (tests/machinery/)."""

import re
import shutil

import pytest
from cookiecutter.environment import StrictEnvironment

from helpers import PASSED, ROOT, SIX, TASKS, run, uv_env

MACHINERY = ROOT / "tests" / "machinery" / "test_machinery.py.jinja"
PYTEST = ["uv", "run", "--isolated", "--with-requirements", "requirements-dev.txt"]
# What README.md invites: a CDN in the policy, and a page whose HTML is long.
POLICY = '"script-src": [SELF, NONCE]'
WITH_A_CDN = '"script-src": [SELF, NONCE, "https://cdn.example.com"]'
TITLE = "<title>Hello</title>\n"
# A .env of another machine: a database and a Redis that the tests cannot reach.
ANY_DOTENV = """DJANGO_DEBUG=1
DATABASE_URL=postgres://nobody:secret@127.0.0.1:1/elsewhere
REDIS_URL=redis://127.0.0.1:1/0
"""
# A variable of the user's own, required, and pinned for the tests.
READ_ENV = "env.read_env(ENV_FILE, recurse=False)\n"
A_NEW_VARIABLE = 'API_TOKEN = env.str("API_TOKEN")  # required\n'
PINS = "TEST_ENVIRONMENT = {\n"
A_PIN = '    "API_TOKEN": "a-token-for-the-tests",\n'
LONG_LINE = (
    f"<p>{' '.join(['A line of a page longer than a formatter wants.'] * 3)}</p>\n"
)


def copy_of(result, where):
    return shutil.copytree(result.project_path, where / result.project_path.name)


def render(template, context):
    """template, rendered as cookiecutter renders the bake's files."""
    environment = StrictEnvironment(context={"cookiecutter": context})
    return environment.from_string(template.read_text()).render(cookiecutter=context)


@pytest.mark.parametrize("options", SIX + TASKS)
def test_the_bake_and_the_machinery_pass_their_tests(options, bake, uv_home, tmp_path):
    result = bake(options)
    project = copy_of(result, tmp_path)
    (project / "test_machinery.py").write_text(render(MACHINERY, result.context))

    # The machinery's tests run commands in subprocesses: two at a time.
    xdist = ["--with", "pytest-xdist", "pytest", "-n", "2"]
    tests = run(*PYTEST, *xdist, cwd=project, env=uv_env(uv_home))

    assert re.fullmatch(PASSED, tests.stdout.splitlines()[-1])


@pytest.mark.parametrize("options", SIX)
def test_the_bakes_tests_stay_green_through_the_readmes_edits_and_any_dotenv(
    options, bake, uv_home, tmp_path
):
    project = copy_of(bake(options), tmp_path)
    app = project / "app.py"
    text = app.read_text()
    assert (text.count(POLICY), text.count(TITLE), text.count(READ_ENV)) == (1, 1, 1)
    text = text.replace(POLICY, WITH_A_CDN).replace(TITLE, TITLE + LONG_LINE)
    app.write_text(text.replace(READ_ENV, READ_ENV + A_NEW_VARIABLE))
    conftest = project / "conftest.py"  # where the README says to pin it
    conftest.write_text(conftest.read_text().replace(PINS, PINS + A_PIN))
    with (project / ".env").open("a") as dotenv:  # none of which the tests use
        dotenv.write(ANY_DOTENV)
    env = uv_env(uv_home)

    with_asyncio = run(
        *PYTEST, "--with", "pytest-asyncio", "pytest", cwd=project, env=env
    )
    lint = run(*PYTEST, "ruff", "check", cwd=project, env=env)
    form = run(*PYTEST, "ruff", "format", "--check", cwd=project, env=env)

    assert len(LONG_LINE) > 120
    assert re.fullmatch(PASSED, with_asyncio.stdout.splitlines()[-1])
    assert "plugins: " in with_asyncio.stdout and "asyncio-" in with_asyncio.stdout
    assert lint.stdout == "All checks passed!\n"
    assert form.stdout.endswith(" files already formatted\n")
