#!/usr/bin/env bash
# The benchmark: bakes the template, serves each contender, and prints its
# tables (also bench/results.json and the charts). Installs wrk, redis-server,
# nginx and openssl (Debian) and its Python packages (into .venv) when they are
# missing; without wrk it measures HTTP with a Python client. Arguments go to
# bench/run.py, e.g. bash bench/run.sh --rounds 5 --seconds 10, or
# bash bench/run.sh --only capacity (the capacity as deployed: minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup.sh wrk redis-server nginx=nginx-light openssl
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
exec .venv/bin/python bench/run.py "$@"
