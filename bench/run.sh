#!/usr/bin/env bash
# The benchmark: bakes the template, serves each contender under daphne, and
# prints a table (also bench/results.json and bench/results.png). Installs wrk
# and redis-server (Debian) and its Python packages (into .venv) when they are
# missing; without wrk it measures HTTP with a Python client. Arguments go to
# bench/run.py, e.g. bash bench/run.sh --rounds 5 --seconds 10.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v redis-server >/dev/null || need+=(redis-server)
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } >/dev/null ||
    echo "bench/run.sh: could not install ${need[*]}: HTTP falls back to a Python client, and without redis-server the broadcast is not measured" >&2
fi
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
exec .venv/bin/python bench/run.py "$@"
