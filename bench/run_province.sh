#!/usr/bin/env bash
# One command for the province-scale benchmark (issue 9); all options go to bench/province.py:
#   bench/run_province.sh                                   # 3,500,000 people, every workload
#   bench/run_province.sh --scales 1000000,3500000          # both sizes, and the ratio between them
#   bench/run_province.sh --people 50000 --quick            # a quick check that it all works
#   bench/run_province.sh --help                            # every option
# Needs: the project venv (.venv), PostgreSQL 15 server binaries, wrk, npm (it
# installs PostGraphile from the npm registry into ~/.cache/lig-bench).
# Cleanup (servers, PostgreSQL, temp dir) is done by province.py on exit, Ctrl-C and SIGTERM;
# the trap below only forwards SIGTERM/SIGHUP to it and waits for that cleanup.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
python="${LIG_BENCH_PYTHON:-$root/.venv/bin/python}"
pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"

[[ -x "$python" ]] || { echo "no venv python at $python (make the venv, or set LIG_BENCH_PYTHON)" >&2; exit 2; }
[[ -x "$pg_bin/initdb" ]] || { echo "no PostgreSQL binaries in $pg_bin (apt-get install -y postgresql-15, or set PG_BIN)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 2; }
command -v npm >/dev/null || { echo "npm not found (it installs PostGraphile; apt-get install -y npm)" >&2; exit 2; }

PG_BIN="$pg_bin" "$python" "$here/province.py" "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"' TERM HUP
trap 'wait "$child"' INT   # Ctrl-C reaches the Python process (same process group) directly
wait "$child"
