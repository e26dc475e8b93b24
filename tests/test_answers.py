"""What the real `cookiecutter` command does with good, bad and odd answers."""

import subprocess
import sys

import pytest

from helpers import ROOT, clean_env
from readme import UV, blocks, commands, section

SLUG_ERROR = (
    "ERROR: project_slug {!r} is not valid: use lowercase ASCII letters, "
    "digits and underscores, starting with a letter.\n"
)


@pytest.mark.parametrize(
    "slug", ["My_Site", "my-site", "1site", "_site", "my site", "café", "../evil"]
)
def test_refuses_a_bad_slug_and_writes_nothing(cookiecutter_cli, tmp_path, slug):
    out = tmp_path / "out"
    out.mkdir()

    result = cookiecutter_cli("-o", out, ROOT, f"project_slug={slug}")

    assert result.returncode == 1
    assert result.stderr == SLUG_ERROR.format(slug)
    assert sorted(tmp_path.rglob("*")) == [out]


def test_refuses_a_blank_name_and_writes_nothing(cookiecutter_cli, tmp_path):
    result = cookiecutter_cli("-o", tmp_path, ROOT, "project_name=   ")

    assert result.returncode == 1
    assert result.stderr == "ERROR: project_name is empty; give the project a name.\n"
    assert list(tmp_path.iterdir()) == []


def test_refuses_tasks_without_a_database_and_writes_nothing(
    cookiecutter_cli, tmp_path
):
    result = cookiecutter_cli("-o", tmp_path, ROOT, "tasks=yes", "database=no")

    assert result.returncode == 1
    assert result.stderr == (
        "ERROR: tasks keep their queue in the database: answer database=yes too.\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_derives_the_slug_from_the_name(cookiecutter_cli, tmp_path):
    result = cookiecutter_cli("-o", tmp_path, ROOT, "project_name=Café Über-Blog 2")

    assert result.returncode == 0, result.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["cafe_uber_blog_2"]


def test_quotes_and_backslashes_in_the_name_are_data(cookiecutter_cli, tmp_path):
    name = "It's \"quoted\" \\ '''"

    result = cookiecutter_cli("-o", tmp_path, ROOT, f"project_name={name}")

    assert result.returncode == 0, result.stdout + result.stderr
    readme = (tmp_path / "it_s_quoted" / "README.md").read_text()
    assert readme.splitlines()[0] == f"# {name}"


def test_asks_clear_questions(cookiecutter_cli, tmp_path):
    result = cookiecutter_cli(
        "-o", tmp_path, ROOT, input="Team Blog\n\nno\n3\nyes\nyes\n", no_input=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Project name, as people should read it" in result.stdout
    assert "Folder name (lowercase letters, digits and underscores" in result.stdout
    assert "Turn DEBUG on in the baked .env" in result.stdout
    assert "Websockets?" in result.stdout
    assert "3 - channels: Django Channels, with chat rooms" in result.stdout
    assert "A database (SQLite, or PostgreSQL by DATABASE_URL) with models" in (
        result.stdout
    )
    assert "Background tasks (Django's tasks framework" in result.stdout
    project = tmp_path / "team_blog"
    assert "DJANGO_DEBUG=0\n" in (project / ".env").read_text()
    assert "channels>=4.2" in (project / "requirements.txt").read_text()
    assert (project / "migrations" / "0001_initial.py").is_file()
    assert "django-tasks-db" in (project / "requirements.txt").read_text()


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        pytest.param('It\'s "quoted"', "it_s_quoted", id="quotes"),
        pytest.param("back\\slash \\n", "back_slash_n", id="backslashes"),
        pytest.param("Café Ñandú 日本", "cafe_nandu_ri_ben", id="non-ascii"),
        pytest.param(
            "{{ cookiecutter.project_slug }}",
            "cookiecutter_project_slug",
            id="jinja-expression",
        ),
        pytest.param("{% raw %}", "raw", id="jinja-tag"),
        pytest.param("class", "class", id="python-keyword"),
        pytest.param("🎉🎉", "my_site", id="no-letters"),
    ],
)
def test_typed_odd_names_bake_valid_projects(cookiecutter_cli, tmp_path, name, folder):
    result = cookiecutter_cli(
        "-o", tmp_path, ROOT, input=f"{name}\n\n\n\n\n\n", no_input=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.name for p in tmp_path.iterdir()] == [folder]
    project = tmp_path / folder
    assert (project / "README.md").read_text().splitlines()[0] == f"# {name}"
    check = subprocess.run(
        [sys.executable, "app.py", "check"],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.stdout == "System check identified no issues (0 silenced).\n"


@pytest.mark.parametrize(
    ("name", "error"),
    [
        pytest.param("3D Viewer", SLUG_ERROR.format("3d_viewer"), id="leading-digit"),
        pytest.param(
            "   ",
            "ERROR: project_name is empty; give the project a name.\n",
            id="whitespace",
        ),
    ],
)
def test_typed_bad_names_are_refused_with_nothing_written(
    cookiecutter_cli, tmp_path, name, error
):
    result = cookiecutter_cli(
        "-o", tmp_path, ROOT, input=f"{name}\n\n\n\n\n\n", no_input=False
    )

    assert result.returncode == 1
    assert result.stderr == error
    assert list(tmp_path.iterdir()) == []


def test_an_empty_answer_takes_the_default_name(cookiecutter_cli, tmp_path):
    result = cookiecutter_cli(
        "-o", tmp_path, ROOT, input="\n\n\n\n\n\n", no_input=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    readme = (tmp_path / "my_django_site" / "README.md").read_text()
    assert readme.startswith("# My Django Site\n")


def test_an_empty_name_given_on_the_command_line_is_refused(cookiecutter_cli, tmp_path):
    result = cookiecutter_cli("-o", tmp_path, ROOT, "project_name=")

    assert result.returncode == 1
    assert result.stderr == "ERROR: project_name is empty; give the project a name.\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("database", [False, True])
@pytest.mark.parametrize("debug", [False, True])
def test_a_bake_ends_with_the_readmes_way_to_see_the_site(
    cookiecutter_cli, tmp_path, database, debug
):
    answers = [f"database={database}", f"debug={debug}"]

    result = cookiecutter_cli("-o", tmp_path, ROOT, *answers)

    readme = (tmp_path / "my_django_site" / "README.md").read_text()
    set_up = blocks(section(readme, "## Set up and run"), "sh")[0]
    steps = ["cd my_django_site", *commands(set_up, UV)]
    assert result.stdout == f"Next: {' && '.join(steps)}\n"


def test_a_failing_bake_says_no_next_step(cookiecutter_cli, tmp_path):
    # .env cannot be written where a folder of that name stands.
    (tmp_path / "my_django_site" / ".env").mkdir(parents=True)

    result = cookiecutter_cli("-o", tmp_path, "--overwrite-if-exists", ROOT)

    assert result.returncode == 1
    assert "Next:" not in result.stdout
    assert "IsADirectoryError" in result.stderr
