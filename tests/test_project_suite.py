"""The baked project as its user gets it: from a git URL, in a fresh clone and venv."""

import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import OPTIONS, ROOT, clean_env

REQUIREMENTS = ["requirements.txt", "requirements-dev.txt"]
PASSED = r"=+ \d+ passed in [\d.]+s =+"
GIT_AS_TESTER = ["git", "-c", "user.name=Tester", "-c", "user.email=tester@example.com"]


def python_312_or_newer():
    """A Python 3.12+ interpreter (the Django 6.x side), or None."""
    pyenv = os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")
    candidates = [shutil.which(f"python3.{minor}") for minor in (14, 13, 12)]
    candidates += sorted(glob.glob(f"{pyenv}/versions/3.1[2-9]*/bin/python3"))[::-1]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info >= (3, 12))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout == "True\n":
            return candidate
    return None


@pytest.fixture(
    scope="session",
    params=[
        pytest.param((sys.executable, "(5, 2, "), id="default-python-django-5.2"),
        pytest.param((python_312_or_newer(), "(6, "), id="python-3.12+-django-6"),
    ],
)
def interpreter(request):
    python, django = request.param
    if python is None:
        pytest.skip("no Python 3.12+ interpreter here: the Django 6.x run is skipped")
    return python, django


@pytest.fixture(
    scope="session", params=[p for p in OPTIONS if not p.values[0]["debug"]]
)
def baked_for_a_clone(request, bake):
    """The bakes as a fresh clone sees them: without .env, where debug lives, a
    debug bake is the same as its nodebug twin, so only the latter is run."""
    return bake(request.param)


def run(*args, cwd, timeout=600):
    result = subprocess.run(
        args,
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def fresh_clone(project, tmp_path):
    """Commit the baked project to git and clone it: the git-ignored .env stays out."""
    work = shutil.copytree(project, tmp_path / "work")
    run("git", "init", "-q", cwd=work)
    run("git", "add", ".", cwd=work)
    run(*GIT_AS_TESTER, "commit", "-qm", "Bake", cwd=work)
    run("git", "clone", "-q", work, tmp_path / "clone", cwd=tmp_path)
    return tmp_path / "clone"


@pytest.fixture(scope="session")
def venv_for(tmp_path_factory):
    """A fresh venv per interpreter and requirements, from a project's files."""
    venvs = {}

    def venv(python, project):
        requirements = [(project / name).read_text() for name in REQUIREMENTS]
        key = (python, *requirements)
        if key not in venvs:
            path = tmp_path_factory.mktemp("venv")
            run(python, "-m", "venv", path, cwd=path)
            pip = [path / "bin" / "python", "-m", "pip", "install", "-q"]
            run(*pip, "-r", "requirements-dev.txt", cwd=project)
            venvs[key] = path / "bin" / "python"
        return venvs[key]

    return venv


def test_baked_suite_passes_in_a_fresh_clone_and_venv(
    baked_for_a_clone, interpreter, venv_for, tmp_path
):
    python, django = interpreter
    clone = fresh_clone(baked_for_a_clone.project_path, tmp_path)
    venv_python = venv_for(python, clone)

    version = run(venv_python, "-c", "import django; print(django.VERSION)", cwd=clone)
    tests = run(venv_python, "-m", "pytest", "-p", "no:cacheprovider", cwd=clone)

    assert not (clone / ".env").exists()
    assert version.stdout.startswith(django)
    assert re.fullmatch(PASSED, tests.stdout.splitlines()[-1])


def test_baked_suite_passes_beside_its_dotenv(baked, venv_for, tmp_path):
    # The developer's own checkout: .env is there, and must not change a result.
    project = shutil.copytree(baked.project_path, tmp_path / "project")
    venv_python = venv_for(sys.executable, project)

    tests = run(venv_python, "-m", "pytest", "-p", "no:cacheprovider", cwd=project)

    assert (project / ".env").exists()
    assert re.fullmatch(PASSED, tests.stdout.splitlines()[-1])


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
    }
