"""What the READMEs promise, checked against what is baked.

(The baked README's code and commands are run by test_journey.py.)
"""

import re

from helpers import ROOT


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

    assert len(readme.splitlines()) <= 200
    assert headings[:3] == ["What you get", "The two commands", "Options"]
