#!/usr/bin/env bash
# The template's whole test suite. Installs what it needs into .venv, then runs
# pytest; extra arguments go to pytest (e.g. bash tests/run.sh -k serve).
set -euo pipefail
cd "$(dirname "$0")/.."

# A real browser for the page tests: Debian's chromium package (Playwright drives
# it; its own browser download is not used). Without it those tests are skipped.
if ! command -v chromium >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null ||
    echo "tests/run.sh: could not install chromium; the browser tests will be skipped" >&2
fi

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
