"""cruft bakes this template, and brings a later change of it into a project."""

import json
import shutil
import stat
import subprocess

import pytest

from helpers import BIN, GIT_AS_TESTER, ROOT, clean_env, run

PROJECT_TEMPLATE = "{{cookiecutter.project_slug}}"
ADDOPTS = 'addopts = ["-ra", "--strict-markers"]'


def commit_all(repo, message, force=False):
    """Commit every file (force: the git-ignored ones too); the commit's hash."""
    run(*GIT_AS_TESTER, "add", "--all", *["--force"] * force, cwd=repo)
    run(*GIT_AS_TESTER, "commit", "-qm", message, cwd=repo)
    return run("git", "rev-parse", "HEAD", cwd=repo).stdout.strip()


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def cruft(*args, cwd):
    return subprocess.run(
        [BIN / "cruft", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def template(tmp_path):
    """A git repository of this checkout's files, committed or not."""
    repo = tmp_path / "template"
    names = run("git", "ls-files", "-co", "--exclude-standard", "-z", cwd=ROOT).stdout
    for name in filter(None, names.split("\0")):
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    run("git", "init", "-q", cwd=repo)
    commit_all(repo, "First", force=True)  # the template's .env is ignored by name
    return repo


@pytest.fixture
def project(template, tmp_path):
    """A project baked by `cruft create`, committed to git by its user."""
    context = json.dumps({"websocket": "asgi"})
    created = cruft(
        "create", "--no-input", "--extra-context", context, template, cwd=tmp_path
    )
    assert created.returncode == 0, created.stdout + created.stderr
    project = tmp_path / "my_django_site"
    run("git", "init", "-q", cwd=project)
    commit_all(project, "Bake")
    return project


def test_create_bakes_as_cookiecutter_does(project, template):
    state = json.loads((project / ".cruft.json").read_text())
    dotenv = project / ".env"

    assert (
        state["commit"] == run("git", "rev-parse", "HEAD", cwd=template).stdout.strip()
    )
    assert state["context"]["cookiecutter"]["websocket"] == "asgi"
    assert "\nDJANGO_SECRET_KEY=" in dotenv.read_text()
    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600
    assert not (project / "migrations").exists()
    assert cruft("check", cwd=project).returncode == 0


def test_update_brings_the_template_change_and_keeps_the_users(project, template):
    dotenv = (project / ".env").read_text()
    edit(project / "app.py", '"World"', '"friend"')
    commit_all(project, "Greet a friend")
    pyproject = template / PROJECT_TEMPLATE / "pyproject.toml"
    edit(pyproject, ADDOPTS, ADDOPTS.replace("]", ', "--durations=5"]'))
    later = commit_all(template, "Later", force=True)

    before = cruft("check", cwd=project)
    update = cruft("update", "--skip-apply-ask", cwd=project)
    after = cruft("check", cwd=project)

    status = run("git", "status", "--porcelain", cwd=project).stdout
    assert before.returncode == 1
    assert status == " M .cruft.json\nM  pyproject.toml\n"
    assert update.returncode == 0, update.stdout + update.stderr
    assert after.returncode == 0, after.stdout
    assert ', "--durations=5"]' in (project / "pyproject.toml").read_text()
    assert '"friend"' in (project / "app.py").read_text()
    assert (project / ".env").read_text() == dotenv
    assert json.loads((project / ".cruft.json").read_text())["commit"] == later


def test_update_marks_a_conflict_with_the_users_edit(project, template):
    edit(project / "pyproject.toml", ADDOPTS, ADDOPTS.replace("]", ', "-x"]'))
    commit_all(project, "Stop at the first failure")
    pyproject = template / PROJECT_TEMPLATE / "pyproject.toml"
    edit(pyproject, ADDOPTS, ADDOPTS.replace("]", ', "--durations=5"]'))
    commit_all(template, "Later", force=True)

    update = cruft("update", "--skip-apply-ask", cwd=project)

    status = run("git", "status", "--porcelain", cwd=project).stdout
    assert update.returncode == 0, update.stdout + update.stderr
    assert "UU pyproject.toml\n" in status
    assert (
        "<<<<<<< ours\n"
        'addopts = ["-ra", "--strict-markers", "-x"]\n'
        "=======\n"
        'addopts = ["-ra", "--strict-markers", "--durations=5"]\n'
        ">>>>>>> theirs\n"
    ) in (project / "pyproject.toml").read_text()
