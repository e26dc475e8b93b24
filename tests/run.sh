#!/usr/bin/env bash
# The template's whole test suite. Installs what it needs, then runs pytest;
# extra arguments go to pytest (e.g. bash tests/run.sh -k serve).
set -euo pipefail
cd "$(dirname "$0")/.."

# Real programs for the end-to-end tests: chromium (driven by Playwright; its
# own browser download is not used), nginx and openssl (the README's proxy
# block, run for real), redis-server (rooms shared by two daphne processes).
# Without them, those tests are reported as skipped.
bash tests/setup.sh chromium nginx=nginx-light openssl redis-server

# The template's own Python (hooks, tests) stays lint-clean, without writing a cache
# into the template folder (cookiecutter would bake it); baked output is
# checked by the tests.
.venv/bin/ruff check --quiet --no-cache .
.venv/bin/ruff format --check --quiet --no-cache .
exec .venv/bin/python -m pytest "$@"
