import ast
import importlib.util
import json
import re
import stat

import pytest
from cookiecutter.environment import StrictEnvironment
from hypothesis import given
from hypothesis import strategies as st

from helpers import ROOT

SLUG_RULE = r"[a-z][a-z0-9_]*"


def load_hook(name):
    """Import a hook as a module: its Jinja sits in strings, so it is valid Python."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pre_gen = load_hook("pre_gen_project")
post_gen = load_hook("post_gen_project")


@pytest.mark.parametrize("slug", ["a", "my_site", "blog2", "a_1_b"])
def test_accepts_good_slugs(slug):
    assert pre_gen.validate("My Site", slug) is None


@pytest.mark.parametrize(
    "slug", ["", "My_Site", "my-site", "1site", "_site", "my site", "café", "a.b"]
)
def test_refuses_bad_slugs(slug):
    error = pre_gen.validate("My Site", slug)

    assert error == (
        f"ERROR: project_slug {slug!r} is not valid: use lowercase ASCII letters, "
        "digits and underscores, starting with a letter."
    )


@pytest.mark.parametrize("name", ["", " ", "\t\n"])
def test_refuses_blank_names(name):
    error = pre_gen.validate(name, "my_site")

    assert error == "ERROR: project_name is empty; give the project a name."


def test_write_env_adds_a_key_to_the_example_in_a_private_file(tmp_path):
    (tmp_path / ".env.example").write_text("# Settings\nDJANGO_DEBUG=1\n")

    post_gen.write_env(tmp_path)

    *example, key_line = (tmp_path / ".env").read_text().splitlines()
    name, key = key_line.split("=", 1)
    assert example == ["# Settings", "DJANGO_DEBUG=1"]
    assert name == "DJANGO_SECRET_KEY"
    assert re.fullmatch(r"[A-Za-z0-9_-]{67}", key)  # secrets.token_urlsafe(50)
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600


def test_write_env_fails_without_an_example_and_writes_no_key(tmp_path):
    with pytest.raises(FileNotFoundError):
        post_gen.write_env(tmp_path)

    assert (tmp_path / ".env").read_text() == ""


RUN = "uv run --isolated --with-requirements app.py daphne app:application"


@pytest.mark.parametrize(
    ("database", "debug", "line"),
    [
        (False, True, f"Next: cd site && {RUN}"),
        (False, False, f"Next: cd site && {RUN}"),
        (True, True, f"Next: cd site && uv run app.py migrate && {RUN}"),
        (
            True,
            False,
            "Next: cd site && uv run app.py migrate && "
            f"uv run app.py collectstatic --noinput && {RUN}",
        ),
    ],
)
def test_next_step_is_what_to_type_to_see_the_site(database, debug, line):
    assert post_gen.next_step("site", database, debug) == line


def test_next_step_with_tasks_starts_the_worker_beside_daphne():
    line = post_gen.next_step("site", True, True, tasks=True)

    assert line == (
        f"Next: cd site && uv run app.py migrate && {RUN}; "
        "beside it, in another terminal: uv run app.py db_worker"
    )


# Property-based tests: any name a person could type.

JINJA = StrictEnvironment(context={"cookiecutter": {}})
DERIVE_SLUG = json.loads((ROOT / "cookiecutter.json").read_text())["project_slug"]


def derive_slug(name):
    """The default slug, exactly as cookiecutter renders it from cookiecutter.json."""
    return JINJA.from_string(DERIVE_SLUG).render(cookiecutter={"project_name": name})


@given(st.text())
def test_a_derived_slug_is_valid_unless_the_name_is_blank_or_starts_with_a_digit(
    name,
):
    slug = derive_slug(name)

    error = pre_gen.validate(name, slug)

    assert slug.isascii()
    if not name.strip():
        assert error == "ERROR: project_name is empty; give the project a name."
    elif slug[0].isdigit():
        assert error.startswith(f"ERROR: project_slug {slug!r} is not valid")
    else:
        assert error is None
        assert re.fullmatch(SLUG_RULE, slug)


@given(st.from_regex(SLUG_RULE, fullmatch=True))
def test_every_slug_that_follows_the_rule_is_accepted(slug):
    assert pre_gen.validate("Name", slug) is None


@given(st.text().filter(lambda slug: not re.fullmatch(SLUG_RULE, slug)))
def test_every_other_slug_is_refused_in_one_line(slug):
    error = pre_gen.validate("Name", slug)

    assert error.startswith("ERROR: project_slug ")
    assert "\n" not in error


@given(st.text(), st.text())
def test_the_rendered_hook_reads_any_answer_as_data(name, slug):
    source = (ROOT / "hooks" / "pre_gen_project.py").read_text()
    context = {"project_name": name, "project_slug": slug, "database": True}
    context["tasks"] = False

    rendered = JINJA.from_string(source).render(cookiecutter=context)

    calls = [
        node
        for node in ast.walk(ast.parse(rendered))
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "json.loads"
    ]
    read = [json.loads(ast.literal_eval(call.args[0])) for call in calls]
    assert read == [name, slug, True, False]
