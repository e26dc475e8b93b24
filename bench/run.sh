#!/usr/bin/env bash
# The benchmark: bakes the template, serves each contender under daphne, and
# prints a table (also bench/results.json and bench/results.png). Installs wrk
# and redis-server (Debian) and its Python packages (into .venv) when they are
# missing; without wrk it measures HTTP with a Python client, and without
# redis-server it leaves the broadcast out. Arguments go to bench/run.py,
# e.g. bash bench/run.sh --rounds 5 --seconds 10.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup.sh wrk redis-server
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
exec .venv/bin/python bench/run.py "$@"
