#!/usr/bin/env bash
# The template's whole test suite. Installs what it needs, then runs pytest;
# extra arguments go to pytest (e.g. bash tests/run.sh -k serve).
set -euo pipefail
cd "$(dirname "$0")/.."

# Real programs for the end-to-end tests: chromium (driven by Playwright; its
# own browser download is not used), nginx and openssl (the README's proxy
# block, run for real), redis-server (rooms shared by two daphne processes),
# npm (Mozilla's HTTP Observatory scanner grades that deployment), PostgreSQL
# (Debian's postgresql, whose pg_ctlcluster is on PATH; the tests run its initdb
# and server in a folder of their own), sqlite3 (the README's backup commands).
# Without them, those tests are reported as skipped.
bash tests/setup.sh chromium nginx=nginx-light openssl redis-server npm \
  pg_ctlcluster=postgresql sqlite3

# The scanner's install script downloads Chromium's HSTS preload list, which
# only marks listed public domains as preloaded: an empty list is right for a
# site on a private address, and needs no download.
observatory=.venv/observatory/node_modules/@mdn/mdn-http-observatory
if command -v npm >/dev/null && [ ! -f "$observatory/conf/hsts-preload.json" ]; then
  npm install --prefix .venv/observatory --ignore-scripts --no-audit --no-fund \
    --loglevel=error @mdn/mdn-http-observatory@1.4.8 >/dev/null &&
    echo '{}' >"$observatory/conf/hsts-preload.json" ||
    echo "tests/run.sh: could not install the Observatory scanner; its test is skipped" >&2
fi

# The template's own Python (hooks, tests) stays lint-clean, without writing a cache
# into the template folder (cookiecutter would bake it); baked output is
# checked by the tests.
.venv/bin/ruff check --quiet --no-cache .
.venv/bin/ruff format --check --quiet --no-cache .
# Two workers, a test file each at a time: most tests wait on servers they
# started, so the suite takes 9 minutes instead of 15 on two cores.
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
