#!/usr/bin/env bash
# One command for the eligibility benchmark; all options go to bench/eligibility.py:
#   bench/run_eligibility.sh                                  # full size: ~1,000,000 people, 3 x 20 s rounds
#   bench/run_eligibility.sh --households 20000 --duration 5  # quick run
# Needs: the project venv (.venv), PostgreSQL 15 server binaries, wrk and /usr/bin/time.
# Cleanup (gateway, PostgreSQL, temp dir) is done by eligibility.py on exit, Ctrl-C and SIGTERM;
# the trap below only forwards SIGTERM/SIGHUP to it and waits for that cleanup.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
python="${LIG_BENCH_PYTHON:-$root/.venv/bin/python}"
pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"

[[ -x "$python" ]] || { echo "no venv python at $python (make the venv, or set LIG_BENCH_PYTHON)" >&2; exit 2; }
[[ -x "$pg_bin/initdb" ]] || { echo "no PostgreSQL binaries in $pg_bin (apt-get install -y postgresql-15, or set PG_BIN)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time not found (apt-get install -y time)" >&2; exit 2; }

PG_BIN="$pg_bin" "$python" "$here/eligibility.py" "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"' TERM HUP
trap 'wait "$child"' INT   # Ctrl-C reaches the Python process (same process group) directly
wait "$child"
