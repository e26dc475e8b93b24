"""The baked project as its user gets it: from a git URL, and in a fresh clone,
on its own CI workflow."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from helpers import (
    BIN,
    GIT_AS_TESTER,
    PASSED,
    ROOT,
    clean_env,
    get,
    greeting,
    option,
    run,
    serving,
    uv_env,
)
from readme import blocks, section

# How GitHub's Ubuntu runners run a `run:` step.
GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]
WORKFLOW = (
    ROOT / "{{cookiecutter.project_slug}}" / ".github" / "workflows" / "tests.yml"
)
# The bakes whose suites the workflow runs here: between them, every section
# of app.py and test_app.py. (In a fresh clone there is no .env, where debug
# lives, so a debug bake is the same as its nodebug twin.)
CLONED = [
    option(False, "none", False),
    option(False, "asgi", False),
    option(False, "asgi", True),
    option(False, "channels", True, True),
]


def workflow_job():
    """The baked workflow's one job (the file is baked as it is)."""
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["test"]


MATRIX = [
    pytest.param(entry, id=f"python-{entry['python']}-django-{entry['django']}")
    for entry in workflow_job()["strategy"]["matrix"]["include"]
]


def python_bin(version):
    """The bin folder of a Python `version` ("3.13") of this machine, which
    actions/setup-python would put first on PATH; None if there is none."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = pyenv.glob(f"versions/{version}.*/bin/python{version}")
    for candidate in filter(None, [shutil.which(f"python{version}"), *found]):
        probe = subprocess.run(
            [
                candidate,
                "-c",
                "import sys; print(*sys.version_info[:2], sys.base_prefix)",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        major, minor, prefix = (probe.stdout.split() + ["", "", ""])[:3]
        if f"{major}.{minor}" == version:
            return Path(prefix) / "bin"
    return None


def fresh_clone(project, tmp_path):
    """Commit the baked project to git and clone it: the git-ignored .env stays out."""
    work = shutil.copytree(project, tmp_path / "work")
    run("git", "init", "-q", cwd=work)
    run("git", "add", ".", cwd=work)
    run(*GIT_AS_TESTER, "commit", "-qm", "Bake", cwd=work)
    run("git", "clone", "-q", work, tmp_path / "clone", cwd=tmp_path)
    return tmp_path / "clone"


def test_workflow_is_valid_for_github():
    schema = ["--builtin-schema", "vendor.github-workflows"]
    result = subprocess.run(
        [BIN / "check-jsonschema", *schema, WORKFLOW],
        capture_output=True,
        text=True,
        check=False,
    )

    assert (result.returncode, result.stdout) == (0, "ok -- validation done\n")


def test_workflow_uses_only_the_actions_this_suite_stands_in_for():
    # test_workflow_passes_in_a_fresh_clone does what these do: check out
    # (the clone), put the matrix's Python first on PATH, and put uv there.
    uses = [
        step["uses"].split("@")[0] for step in workflow_job()["steps"] if "uses" in step
    ]

    assert uses == ["actions/checkout", "actions/setup-python", "astral-sh/setup-uv"]


def test_pre_commit_config_is_valid(baked):
    config = baked.project_path / ".pre-commit-config.yaml"

    result = run(BIN / "pre-commit", "validate-config", config, cwd=baked.project_path)

    assert (result.stdout, result.stderr) == ("", "")


def test_pre_commit_ruff_passes_on_the_bake(baked, uv_home):
    # The hooks run ruff at the version their rev names (pre-commit fetches
    # ruff-pre-commit from GitHub, which this machine cannot reach).
    project = baked.project_path
    [repo] = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())["repos"]
    ruff = ["uvx", f"ruff@{repo['rev'].removeprefix('v')}"]
    env = uv_env(uv_home)

    check = run(*ruff, "check", "--no-cache", cwd=project, env=env)
    form = run(*ruff, "format", "--check", "--no-cache", cwd=project, env=env)

    assert repo["repo"] == "https://github.com/astral-sh/ruff-pre-commit"
    assert [hook["id"] for hook in repo["hooks"]] == ["ruff-check", "ruff-format"]
    assert check.stdout == "All checks passed!\n"
    assert form.stdout.endswith(" files already formatted\n")


# Every cloned bake on the newest entry (Django 6.x); on the others, the bake
# with every section (test_baked_suites.py runs each bake's suite on 3.11 too).
RUNS = [
    pytest.param(options.values[0], entry.values[0], id=f"{options.id}-{entry.id}")
    for entry in MATRIX
    for options in (CLONED if entry is MATRIX[-1] else CLONED[-1:])
]


@pytest.mark.parametrize(("options", "entry"), RUNS)
def test_workflow_passes_in_a_fresh_clone(options, entry, bake, uv_home, tmp_path):
    python = python_bin(entry["python"])
    if python is None:
        pytest.skip(f"no Python {entry['python']} on this machine")
    clone = fresh_clone(bake(options).project_path, tmp_path)
    job = workflow_job()
    matrix = re.compile(r"\$\{\{ matrix\.(\w+) \}\}")
    job_env = {k: matrix.sub(lambda m: entry[m[1]], v) for k, v in job["env"].items()}
    env = uv_env(uv_home, **job_env)
    env["PATH"] = f"{python}{os.pathsep}{env['PATH']}"

    outputs = [
        run(*GITHUB_BASH, step["run"], cwd=clone, env=env).stdout
        for step in job["steps"]
        if "run" in step
    ]

    assert not (clone / ".env").exists()
    assert f"\ndjango: version: {entry['django']}." in outputs[-1]
    assert re.fullmatch(PASSED, outputs[-1].splitlines()[-1])


def test_bakes_from_a_git_url(cookiecutter_cli, cookies, tmp_path):
    # The path `cookiecutter gh:owner/repo` takes: clone the repository, then bake.
    bare = tmp_path / "template.git"
    run("git", "clone", "-q", "--bare", ROOT, bare, cwd=tmp_path)

    result = cookiecutter_cli("-o", tmp_path / "out", f"git+file://{bare}")

    assert result.returncode == 0, result.stdout + result.stderr
    from_git = tmp_path / "out" / "my_django_site"
    local = cookies.bake().project_path
    assert files_of(from_git) == files_of(local)


def files_of(project):
    """Every file's text, the secret key line of .env left out."""
    return {
        p.relative_to(project): p.read_text().partition("DJANGO_SECRET_KEY=")[0]
        for p in project.rglob("*")
        if p.is_file()
    }


def test_readme_pip_commands_bake_and_serve(tmp_path):
    # The template README's pip route, baking this checkout (a bare git clone
    # of it, as `gh:` is fetched), with pipx from PyPI, and daphne on a free
    # port in bash's place (so that stopping bash stops it).
    readme = (ROOT / "README.md").read_text()
    lines = blocks(section(readme, "## The two commands"), "sh")[1]
    run("git", "clone", "-q", "--bare", ROOT, tmp_path / "template.git", cwd=tmp_path)
    (tmp_path / "cookiecutter.yaml").write_text(
        f"cookiecutters_dir: {tmp_path / 'templates'}\nreplay_dir: {tmp_path}\n"
    )
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "pipx").symlink_to(BIN / "pipx")
    script = lines.replace(
        "gh:<owner>/<repo>", f"git+file://{tmp_path / 'template.git'}"
    ).replace("&& daphne app:application\n", "&& exec daphne -p {port} app:application")
    env = clean_env(
        PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        PIPX_HOME=str(tmp_path / "pipx"),
        COOKIECUTTER_CONFIG=str(tmp_path / "cookiecutter.yaml"),
    )

    with serving(
        ["bash", "-c", script], tmp_path, tmp_path / "log", env, timeout=300
    ) as s:
        status, _, body = get(s.url, "/?name=Django%20user")

    assert (status, greeting(body)) == (200, b"Hello, Django user!")
    assert (tmp_path / "my_django_site" / ".venv" / "bin" / "daphne").exists()
