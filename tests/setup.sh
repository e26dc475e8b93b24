#!/usr/bin/env bash
# What tests/run.sh and bench/run.sh both need first. Each argument names a
# command and, after "=", the Debian package that has it (when the names
# differ); missing ones are installed with apt where that is possible. Then the
# Python packages of tests/requirements.txt go into .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for wanted in "$@"; do
  command -v "${wanted%%=*}" >/dev/null || need+=("${wanted#*=}")
done
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } >/dev/null ||
    echo "tests/setup.sh: could not install ${need[*]}; what needs them is skipped" >&2
fi

if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
