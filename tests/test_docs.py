"""What the READMEs promise, checked against what is baked.

(The baked README's code and commands are run by test_journey.py.)
"""

import re

import pytest

from helpers import ROOT, SIX, TASKS


def test_template_readme_excerpt_is_the_baked_code(bake):
    readme = (ROOT / "README.md").read_text()
    excerpt = re.search(
        r"excerpt of the default bake.*?```python\n(.*?)```", readme, re.S
    )[1]

    app = (
        bake({"debug": True, "websocket": "none"}).project_path / "app.py"
    ).read_text()

    assert excerpt in app


def test_template_is_bsd_3_clause_and_its_bakes_carry_no_license(bake):
    license = (ROOT / "LICENSE").read_text()

    baked = bake({"debug": True, "websocket": "none"}).project_path

    assert license.startswith("BSD 3-Clause License\n")
    assert "3. Neither the name of the copyright holder nor" in license
    assert [p.name for p in baked.rglob("*LICEN[CS]E*")] == []


def test_template_readme_leads_in_at_most_about_200_lines():
    readme = (ROOT / "README.md").read_text()

    headings = re.findall(r"(?m)^## (.*)$", readme)

    assert len(readme.splitlines()) <= 210
    assert headings[:3] == ["What you get", "The two commands", "Options"]


# What a bake may carry, by (websocket, database): README.md's lines, and
# test_app.py's lines and tests.
BUDGETS = {
    ("none", False): (150, 80, 11),
    ("asgi", False): (190, 110, 15),
    ("channels", False): (210, 130, 18),
    ("none", True): (210, 150, 21),
    ("asgi", True): (240, 180, 25),
    ("channels", True): (260, 200, 28),
}
# What tasks may add to a database bake's: its README section, and the test
# of its task.
TASKS_EXTRA = (30, 25, 3)
KEY_RECIPE = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"


def docs_of(project):
    return {name: (project / name).read_text() for name in ("README.md", "DEPLOY.md")}


@pytest.mark.parametrize("options", SIX + TASKS)
def test_the_bakes_readme_and_tests_keep_within_their_budgets(bake, options):
    project = bake(options).project_path
    budget = BUDGETS[options["websocket"], options["database"]]
    if options.get("tasks"):
        budget = [limit + more for limit, more in zip(budget, TASKS_EXTRA, strict=True)]
    readme_lines, test_lines, tests = budget

    test_app = (project / "test_app.py").read_text()

    assert len((project / "README.md").read_text().splitlines()) <= readme_lines
    assert len(test_app.splitlines()) <= test_lines
    assert len(re.findall(r"(?m)^    (async )?def test_", test_app)) <= tests


@pytest.mark.parametrize("options", SIX + TASKS)
def test_the_bakes_readme_leads_with_running_it_and_where_the_code_is(bake, options):
    readme = (bake(options).project_path / "README.md").read_text()

    lead = "".join(readme.splitlines(keepends=True)[:25])

    assert "daphne app:application\n```" in lead
    assert "<http://localhost:8000/?name=Django%20user>" in lead
    assert "`async def index` in `app.py`" in lead
    assert "[DEPLOY.md](DEPLOY.md)" in lead


@pytest.mark.parametrize("options", SIX + TASKS)
def test_the_key_recipe_is_given_at_most_three_times(bake, options):
    project = bake(options).project_path

    texts = [path.read_text() for path in project.rglob("*") if path.is_file()]

    assert sum(text.count(KEY_RECIPE) for text in texts) <= 3


@pytest.mark.parametrize("options", SIX + TASKS)
def test_the_docs_name_only_what_the_bake_has(bake, options):
    project = bake(options).project_path

    docs = docs_of(project)

    linked = {t for text in docs.values() for t in re.findall(r"\]\(([\w.]+)\)", text)}
    assert all((project / name).exists() for name in linked), linked
    assert not any("bench/" in text for text in docs.values())
    if options["websocket"] == "none":
        assert not any(re.search("(?i)websocket", text) for text in docs.values())
    if not options["database"]:
        assert not any(re.search("(?i)database|postgres", t) for t in docs.values())
    if not options.get("tasks"):
        assert not any(re.search("(?i)db_worker|EMAIL_URL", t) for t in docs.values())
