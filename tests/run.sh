#!/usr/bin/env bash
# The template's whole test suite. Installs what it needs into .venv, then runs
# pytest; extra arguments go to pytest (e.g. bash tests/run.sh -k serve).
set -euo pipefail
cd "$(dirname "$0")/.."

# Real programs for the end-to-end tests, from Debian's packages when missing:
# chromium (driven by Playwright; its own browser download is not used), nginx
# and openssl (the README's proxy block, run for real), redis-server (rooms
# shared by two daphne processes). Without them, those tests are reported as
# skipped.
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v nginx >/dev/null || need+=(nginx-light)
command -v openssl >/dev/null || need+=(openssl)
command -v redis-server >/dev/null || need+=(redis-server)
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } >/dev/null ||
    echo "tests/run.sh: could not install ${need[*]}; their tests will be skipped" >&2
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
