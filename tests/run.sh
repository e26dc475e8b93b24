#!/usr/bin/env bash
# The template's whole test suite. Installs what it needs into .venv, then runs
# pytest; extra arguments go to pytest (e.g. bash tests/run.sh -k serve).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
# The template's own Python (hooks, tests) stays lint-clean, without writing a cache
# into the template folder (cookiecutter would bake it); baked output is
# checked by the tests.
.venv/bin/ruff check --quiet --no-cache .
.venv/bin/ruff format --check --quiet --no-cache .
exec .venv/bin/python -m pytest "$@"
