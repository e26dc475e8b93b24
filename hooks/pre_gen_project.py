"""Refuse answers that would bake a broken project, before anything is written."""

import json
import re
import sys

SLUG_RULE = "lowercase ASCII letters, digits and underscores, starting with a letter"


def validate(project_name, project_slug, database=True, tasks=False):
    """Return a one-line error for bad answers, or None when they are fine."""
    if tasks and not database:
        return "ERROR: tasks keep their queue in the database: answer database=yes too."
    if not project_name.strip():
        return "ERROR: project_name is empty; give the project a name."
    if not re.fullmatch(r"[a-z][a-z0-9_]*", project_slug):
        return f"ERROR: project_slug {project_slug!r} is not valid: use {SLUG_RULE}."
    return None


if __name__ == "__main__":
    # The answers arrive as JSON text in raw single-quoted strings: tojson
    # escapes every quote and backslash, so no answer can change this code.
    # fmt: off
    error = validate(
        json.loads(r'{{ cookiecutter.project_name | tojson }}'),
        json.loads(r'{{ cookiecutter.project_slug | tojson }}'),
        json.loads(r'{{ cookiecutter.database | tojson }}'),
        json.loads(r'{{ cookiecutter.tasks | tojson }}'),
    )
    # fmt: on
    if error:
        sys.exit(error)
