#!/usr/bin/env bash
# Set up everything the tests need (PostgreSQL server from Debian's packages, the Python
# environment) and run all checks: lint, types, contract drift, and the tests on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's packages: PostgreSQL (the tests start their own clusters) and Chromium with CJK fonts
# (the console's end-to-end tests drive it headless; Playwright never downloads a browser here).
packages=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql)
[ -x /usr/bin/chromium ] || packages+=(chromium fonts-noto-cjk)
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[dev]"

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lig schema export --check
# One worker per core (each with its own PostgreSQL cluster and templates): the suite is
# mostly waiting on databases and subprocesses, and takes about 7 minutes on 2 cores.
exec .venv/bin/python -m pytest --numprocesses=auto "$@"
