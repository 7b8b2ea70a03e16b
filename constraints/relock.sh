#!/bin/sh
# Re-pin constraints/dev.txt to the newest versions the registry serves (`make lock`); commit the result on its own.
set -eu
cd "$(dirname "$0")/.."
rm -rf .lock-venv
"${PYTHON:-python3}" -m venv .lock-venv
.lock-venv/bin/pip install -q -U pip setuptools wheel
.lock-venv/bin/pip install -q -e ".[dev]"
{
  head -2 constraints/dev.txt
  .lock-venv/bin/pip freeze --all --exclude-editable | grep -v '^imcorr' | sort -f
} > constraints/dev.txt.new
mv constraints/dev.txt.new constraints/dev.txt
rm -rf .lock-venv
