#!/usr/bin/env bash
# Set up the environment and serve the gateway on the embedded default (SQLite ./lig.db) with demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/lig serve --demo "$@"
