"""A flood of over-limit queries from one client, and what a well-behaved client sees meanwhile.

    .venv/bin/python bench/flood.py [--seconds 20] [--households 2000] [--connections 8]
                                    [--good-rate 20] [--engine sqlite|postgresql] [--workers 1]

On the embedded default (a SQLite file in a temp dir) or a throwaway PostgreSQL 15 cluster (the
eligibility benchmark's: durability off), `lig serve --workers N` (1 by default):

 1. `lig db upgrade`, `lig demo load --households N`; two clients from `lig clients add`: the
    flooder (medical-security) and a well-behaved desk (education), a token each;
 2. **alone**: the desk asks `eligibility` for 10 ID numbers of the county, `--good-rate` times a
    second (open loop: a request every 1/rate s, whatever the answers' latency), for `--seconds`;
 3. **flood, rate-limited**: the same desk, while wrk (`--connections`, as fast as it can) sends
    the flooder's over-limit document (500 `__typename`: graphql-cop's field duplication) with
    the default rate limit (100 a second, burst 200): almost every request is answered 429
    from the process's local share of the bucket;
 4. **flood, no rate limit**: the same, with the flooder's profile unlimited
    (LIG_RATE_LIMITS), so that every request is parsed, refused by the operation limits (400
    LIMIT_EXCEEDED) and audited: the cost of the limits themselves.

For each: the flood's requests per second and their status, the desk's p50/p99/max and errors.
Prints a table and writes it to bench/results/flood-<date>.txt. Everything listens on
127.0.0.1; the gateway and the temp dir are cleaned up on exit, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import asyncpg
import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from eligibility import Cluster, Interrupted, free_port, pct, take_signals  # noqa: E402

RESULTS = HERE / "results"
LIG = str(Path(sys.executable).parent / "lig")
PG_BIN = "/usr/lib/postgresql/15/bin"
FLOOD = {"query": "query cop { " + "__typename " * 500 + "}"}
GOOD = "query($ids: [String!]!) { eligibility(idNumbers: $ids) { idNumber found category } }"

T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def lig(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([LIG, *args], env=env, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(f"lig {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


class Gateway:
    def __init__(self, env: dict[str, str], tmp: Path, workers: int) -> None:
        self.env = env
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "gateway.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gateway:
        cmd = [LIG, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--workers", str(self.workers)] if self.workers > 1 else []
        env = dict(self.env, LIG_ISSUER=self.base)
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"`lig serve` exited ({self.proc.returncode})")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return self
            time.sleep(0.3)
        raise RuntimeError("`lig serve` not healthy within 120 s")

    def __exit__(self, *_exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def token(self, creds: dict[str, str]) -> str:
        basic = (quote_plus(creds["client_id"]), quote_plus(creds["client_secret"]))
        answer = httpx.post(
            f"{self.base}/oauth/token", data={"grant_type": "client_credentials"}, auth=basic
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])


async def desk(
    base: str, token: str, ids: list[str], rate: float, seconds: float
) -> dict[str, Any]:
    """Open loop: a request every 1/rate s; each one's latency, and whether it was answered."""
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "desk check"}
    latencies: list[float] = []
    errors: list[str] = []

    async def one(client: httpx.AsyncClient, n: int) -> None:
        batch = [ids[(n * 10 + i) % len(ids)] for i in range(10)]
        started = time.perf_counter()
        try:
            r = await client.post(
                "/graphql", json={"query": GOOD, "variables": {"ids": batch}}, headers=headers
            )
            body = r.json()
            if r.status_code != 200 or "errors" in body or len(body["data"]["eligibility"]) != 10:
                errors.append(f"{r.status_code} {r.text[:120]}")
                return
        except httpx.HTTPError as error:
            errors.append(repr(error))
            return
        latencies.append((time.perf_counter() - started) * 1000)

    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        tasks = []
        start = time.perf_counter()
        n = 0
        while (now := time.perf_counter()) - start < seconds:
            tasks.append(asyncio.create_task(one(client, n)))
            n += 1
            await asyncio.sleep(max(0.0, start + n / rate - now))
        await asyncio.gather(*tasks)
    latencies.sort()
    return {
        "sent": n,
        "answered": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:3],
        "p50_ms": pct(latencies, 0.50),
        "p99_ms": pct(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else float("nan"),
    }


def start_wrk(
    base: str, token: str, connections: int, seconds: float, tmp: Path
) -> subprocess.Popen[str]:
    script = tmp / "flood.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(FLOOD))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        'wrk.headers["X-Purpose"] = "flood"\n'
    )
    cmd = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds:.0f}s", "--latency",
           "-s", str(script), f"{base}/graphql"]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def parse_wrk(text: str) -> dict[str, Any]:
    def grab(pattern: str) -> str | None:
        m = re.search(pattern, text)
        return m.group(1) if m else None

    requests = grab(r"(\d+) requests in")
    non_2xx = grab(r"Non-2xx or 3xx responses: (\d+)")
    return {
        "requests_per_s": float(grab(r"Requests/sec:\s+([\d.]+)") or "nan"),
        "requests": int(requests or 0),
        "refused": int(non_2xx or 0),
        "p50": grab(r"\n\s+50%\s+(\S+)"),
        "p99": grab(r"\n\s+99%\s+(\S+)"),
    }


def status_counts(base: str, token: str) -> dict[int, int]:
    """What the flood is answered, from a few requests sent after it (the same state)."""
    headers = {"Authorization": f"Bearer {token}"}
    seen: dict[int, int] = {}
    with httpx.Client(base_url=base, timeout=10) as client:
        for _ in range(20):
            r = client.post("/graphql", json=FLOOD, headers=headers)
            seen[r.status_code] = seen.get(r.status_code, 0) + 1
    return seen


def scenario(
    name: str, env: dict[str, str], args: argparse.Namespace, tmp: Path, ids: list[str],
    creds: dict[str, dict[str, str]], flood: bool,
) -> dict[str, Any]:  # fmt: skip
    log(f"{name}: starting")
    with Gateway(env, tmp, args.workers) as gateway:
        good_token = gateway.token(creds["good"])
        flood_token = gateway.token(creds["flood"])
        # Warm up: the desk's document, caches, the flooder's document.
        asyncio.run(desk(gateway.base, good_token, ids, 20, 2))
        wrk = (
            start_wrk(gateway.base, flood_token, args.connections, args.seconds, tmp)
            if flood
            else None
        )
        if wrk is not None:
            time.sleep(1)
        good = asyncio.run(desk(gateway.base, good_token, ids, args.good_rate, args.seconds - 2))
        out: dict[str, Any] = {"name": name, "desk": good}
        if wrk is not None:
            text, _ = wrk.communicate(timeout=args.seconds + 60)
            out["flood"] = parse_wrk(text)
            out["flood_statuses"] = status_counts(gateway.base, flood_token)
    log(f"{name}: {json.dumps(out)}")
    return out


def people(args: argparse.Namespace, db: Path, cluster: Cluster | None) -> list[str]:
    """ID numbers of the county's people, for the desk's questions."""
    sql = "SELECT id_number FROM persons ORDER BY id LIMIT 500"
    if cluster is None:
        with sqlite3.connect(db) as conn:
            return [row[0] for row in conn.execute(sql)]

    async def read() -> list[str]:
        conn = await asyncpg.connect(cluster.dsn)
        try:
            return [row[0] for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(read())


def render(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"# Flood of over-limit queries, {dt.date.today()} ({os.cpu_count()} CPUs, "
        f"{platform.python_version()})",
        "",
        f"`lig serve --workers {args.workers}` on {args.engine}, {args.households} households. "
        "Desk: eligibility of 10 "
        f"IDs, {args.good_rate}/s open loop, {args.seconds - 2:.0f} s. Flood: wrk, "
        f"{args.connections} connections, 500 `__typename` per request.",
        "",
        "| scenario | flood answered/s | flood answers | flood p50 / p99 "
        "| desk p50 ms | desk p99 ms | desk max ms | desk errors |",
        "|---|---:|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        d = r["desk"]
        f = r.get("flood")
        statuses = ", ".join(f"{k}×{v}" for k, v in sorted(r.get("flood_statuses", {}).items()))
        lines.append(
            f"| {r['name']} | {f['requests_per_s']:.0f} | {statuses or '–'} | "
            f"{f['p50']} / {f['p99']} | "
            if f
            else f"| {r['name']} | – | – | – | "
        )
        lines[-1] += (
            f"{d['p50_ms']:.1f} | {d['p99_ms']:.1f} | {d['max_ms']:.1f} | "
            f"{d['errors']} of {d['sent']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--good-rate", type=float, default=20)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed (apt-get install wrk)", file=sys.stderr)
        return 2
    take_signals()
    tmp = Path(tempfile.mkdtemp(prefix="lig-flood-"))
    cluster: Cluster | None = None
    try:
        db = tmp / "lig.db"
        url = f"sqlite+aiosqlite:///{db}"
        if args.engine == "postgresql":
            cluster = Cluster(tmp, Path(os.environ.get("PG_BIN", PG_BIN)))
            cluster.start()
            url = cluster.sqlalchemy_url
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIG_")}
        env |= {"LIG_DATABASE_URL": url, "LIG_ENV": "production"}
        log("loading the demo county")
        lig(env, "db", "upgrade")
        lig(env, "demo", "load", "--households", str(args.households))
        creds = {}
        for role, agency in (("flood", "medical-security"), ("good", "education")):
            out = lig(env, "clients", "add", "--name", f"bench-{role}", "--agency", agency,
                      "--profile", agency)  # fmt: skip
            creds[role] = json.loads(next(ln for ln in out.splitlines() if ln.startswith("{")))
        ids = people(args, db, cluster)
        unlimited = dict(env, LIG_RATE_LIMITS=json.dumps(
            {"medical-security": {"per_second": 0, "burst": 1}}))  # fmt: skip
        results = [
            scenario("desk alone", env, args, tmp, ids, creds, flood=False),
            scenario("flood, rate-limited (default)", env, args, tmp, ids, creds, flood=True),
            scenario(
                "flood, no rate limit (limits only)", unlimited, args, tmp, ids, creds, flood=True
            ),
        ]
    except (KeyboardInterrupt, Interrupted):
        log("interrupted")
        return 130
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    report = render(results, args)
    print(report)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"flood-{dt.date.today()}-{args.engine}-{args.workers}.txt"
    path.write_text(report + "\n```json\n" + json.dumps(results, indent=1) + "\n```\n")
    log(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
