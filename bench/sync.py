"""National sync benchmark (issue 6): `lig sync national` of 1,000,000 people from the simulator,
and the monthly `lig export national` of the same.

    .venv/bin/python bench/sync.py [--people 1000000] [--page-size 1000]
                                   [--engine postgresql|sqlite|both] [--seed 2026]

For each engine (default PostgreSQL only: a throwaway PostgreSQL 15 cluster, the eligibility
benchmark's, durability off; or a SQLite file), all on 127.0.0.1:

 1. `lig db upgrade` on an empty database.
 2. `lig simulate national --size H --seed S` as a subprocess on a free port, where H is the
    fewest households whose people reach `--people` (households have 1-4 members; the same
    NationalDataset is rebuilt here to know the answer). The script waits until it answers and
    checks that its pid holds the listening socket (uvicorn runs in it: its memory is the
    simulator's own).
 3. The measured sync: `lig sync national --json` as a subprocess (LIG_NATIONAL_PAGE_SIZE =
    `--page-size`). Its VmRSS and VmHWM are read every 50 ms from /proc; its peak memory is
    the last VmHWM read (at most 50 ms before it exits; not wait4's ru_maxrss, which after
    Python's vfork + exec also counts this script's own high-water mark). Wall time is
    from the process's start to its exit (Python start-up included); changes/s and people/s
    (persons created) are divided by it. CPU: the sync process (rusage), PostgreSQL (the
    postmaster, its backends and the backends that exited), the simulator, and the machine
    (/proc/stat), over the same interval. The simulator's VmHWM is reported separately: it is
    not the gateway.
 4. Verification against the simulator's own fold (NationalDataset.final_state(), computed
    here after the sync, never by the sync code): every person (ID number, name, labour
    capacity, illness, death, current household, relation, joined on) and every household
    (code, region, address, phone, urban/rural, formerly poor, category, status, channel,
    validity) read back from the database and compared field by field; the determinations
    written by `national-sync` must number the CATEGORY changes of the stream; no rejections,
    no conflicts. Then a second `lig sync national --json` must find and apply 0 changes.
 5. `lig export national --month <last month> --json`, timed and sampled like the sync: spool
    (read the database in keyset pages), upload (one signed NDJSON stream), wait for the
    receipt (the simulator answers it 0.5 s after the upload; the export polls every 0.2 s).
    Its households and records must equal the fold's ACTIVE households and their members.

Prints a table and writes it to bench/results/sync-<date>.txt (-HHMMSS added rather than
overwrite). `--profile DIR` runs py-spy on the sync and the export (DIR/<step>-<engine>.folded);
it costs CPU, so measured figures should come from a run without it. The simulator, the
cluster and the temp dir are cleaned up on exit, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

# From the eligibility benchmark: /proc readers and a free port; from the push benchmark: the
# two engines (a SQLite file; eligibility's throwaway cluster), `lig` runs, and the report's
# machine and code lines.
from eligibility import (  # noqa: E402
    T0,
    Interrupted,
    export_ref,
    free_port,
    log,
    processes,
    take_signals,
    tree_cpu,
)
from eligibility import code_fingerprint as ref_fingerprint  # noqa: E402
from push import (  # noqa: E402
    LIG,
    PY_SPY,
    Engine,
    PostgresEngine,
    SqliteEngine,
    code_fingerprint,
    listening_pid,
    machine,
    machine_busy,
    run,
    status_kb,
    timeline,
)

from adapters.national.dataset import FinalState, NationalDataset, _draw  # noqa: E402
from adapters.national.simulator import DEFAULT_APP_KEY, DEFAULT_SECRET, decode_cursor  # noqa: E402

RESULTS = HERE / "results"
SAMPLE_SECONDS = 0.05
EXPORTED_STATUSES = ("ACTIVE", "SUSPENDED")  # gateway/sync/export.py
SYNC_USER = "national-sync"  # gateway/sync/apply.py

# What is compared, the database's columns and the fold's fields in the same order.
PERSONS_SQL = (
    "SELECT p.national_person_id, p.id_number, p.name, p.labor_capacity, p.illness, "
    "p.deceased_on, h.national_id, m.relation, m.joined_on "
    "FROM persons p "
    "LEFT JOIN memberships m ON m.person_id = p.id AND m.left_on IS NULL "
    "LEFT JOIN households h ON h.id = m.household_id"
)
PERSON_FIELDS = (
    "id_number name labor_capacity illness deceased_on household_id relation joined_on"
).split()
HOUSEHOLDS_SQL = (
    "SELECT national_id, code, region_code, address, phone, urban_rural, former_registered_poor, "
    "category, status, channel, valid_from, valid_until FROM households"
)
HOUSEHOLD_FIELDS = (
    "household_code region_code address phone urban_rural former_registered_poor".split()
)
CATEGORY_FIELDS = "category status channel valid_from valid_until".split()


def households_for(people: int, seed: int) -> int:
    """The fewest households of the simulator's dataset whose members number `people` or more
    (the dataset's own draw of household sizes, 1-4)."""
    total = 0
    for h in count():
        total += 1 + _draw(seed, "size", h) % 4
        if total >= people:
            return h + 1
    raise AssertionError("unreachable")


# ---- The simulator ----------------------------------------------------------------------------


class Simulator:
    """`lig simulate national` in a subprocess; its log (uvicorn's access log) shows progress."""

    def __init__(self, households: int, seed: int, tmp: Path) -> None:
        self.households, self.seed = households, seed
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "simulator.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 300) -> float:
        """Start it and wait until it answers; answers the seconds that took."""
        cmd = [LIG, "simulate", "national", "--port", str(self.port)]
        cmd += ["--size", str(self.households), "--seed", str(self.seed)]
        started = time.perf_counter()
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=self.log_path.parent, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the simulator exited ({self.proc.returncode}):\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(self.url + "/", timeout=2)  # any answer (404) will do
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not answer within {timeout:.0f} s")
            time.sleep(0.2)
        holder = listening_pid(self.port)
        if holder != self.proc.pid:
            raise RuntimeError(f"port {self.port} is held by pid {holder}, not {self.proc.pid}")
        return time.perf_counter() - started

    def position(self) -> int | None:
        """The highest seq the last page request asked after (from the access log's cursor)."""
        with contextlib.suppress(OSError), open(self.log_path, "rb") as f:
            f.seek(max(0, self.log_path.stat().st_size - 8192))
            found = re.findall(rb"/changes\?[^ \"]*cursor=([A-Za-z0-9_-]+)", f.read())
            if found:
                return decode_cursor(found[-1].decode())
        return None

    def tail(self, n: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


# ---- One measured `lig` command ---------------------------------------------------------------


@dataclass
class Measured:
    """A `lig` command run to its end: output, time, memory, CPU (100 % = one core)."""

    result: dict[str, Any]
    wall_s: float
    peak_rss_kb: int
    rss_timeline_mib: list[int]
    samples: int
    cpu: dict[str, float] = field(default_factory=dict)  # seconds, by whose
    # (seconds since start, changes applied) every 2 s, for a sync
    progress: list[tuple[float, int]] = field(default_factory=list)


def measure(
    args: list[str],
    env: dict[str, str],
    tmp: Path,
    label: str,
    timeout: float,
    postmaster: int | None,
    simulator: Simulator | None = None,
    profile: Path | None = None,
) -> Measured:
    """Run `lig ARGS` (one JSON object on stdout), sampling its VmRSS and VmHWM every 50 ms;
    reap it with wait4(2) for its own CPU time. Logs the sync's progress (with a simulator), or
    the command's time and memory, every 30 s. Also used by bench/compare.py (no simulator)."""
    out_path, err_path = tmp / f"{label}.out", tmp / f"{label}.err"

    def cpu_now() -> dict[str, float]:
        procs = processes()
        return {
            "postgresql": tree_cpu(procs, [postmaster]) if postmaster else 0.0,
            "simulator": procs[simulator.pid][1]
            if simulator is not None and simulator.pid in procs
            else 0.0,
            # this script and its children: the command once reaped, the simulator
            "ours": tree_cpu(procs, [os.getpid()]),
            "machine": machine_busy(),
        }

    before = cpu_now()
    start = time.perf_counter()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([LIG, *args], env=env, cwd=tmp, stdout=out, stderr=err)
    spy = None
    if profile is not None:
        profile.parent.mkdir(parents=True, exist_ok=True)
        cmd = [PY_SPY, "record", "--pid", str(proc.pid), "--rate", "50", "--format", "raw"]
        spy = subprocess.Popen(
            [*cmd, "--nonblocking", "--output", str(profile)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    samples: list[tuple[float, int]] = []
    progress: list[tuple[float, int]] = []
    hwm = 0
    next_look, next_note = start + 2, start + 30
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            now = time.perf_counter()
            rss = status_kb(proc.pid, "VmRSS")
            if rss is not None:
                samples.append((now, rss))
                hwm = max(hwm, status_kb(proc.pid, "VmHWM") or 0)
            if now > next_look and simulator is not None and label.startswith("sync"):
                next_look += 2
                # The sync asks for the page after `done` once it has committed `done`.
                done = simulator.position() or 0
                progress.append((now - start, done))
            if now > next_note and simulator is None:
                next_note += 30
                log(f"  {label}: {now - start:,.0f} s, RSS {(rss or 0) / 1024:.0f} MiB")
            if now > next_note and progress:
                assert simulator is not None
                next_note += 30
                done = progress[-1][1]
                log(
                    f"  {label}: {done:,} changes applied, {done / (now - start):,.0f}/s, "
                    f"RSS {(rss or 0) / 1024:.0f} MiB (simulator "
                    f"{(status_kb(simulator.pid, 'VmRSS') or 0) / 1024:.0f} MiB)"
                )
            if now - start > timeout:
                raise TimeoutError(f"`lig {' '.join(args)}` still running after {timeout:.0f} s")
            time.sleep(SAMPLE_SECONDS)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        if spy is not None:
            spy.wait(60)
    end = time.perf_counter()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    after = cpu_now()
    stdout = out_path.read_text()
    if proc.returncode:
        stderr = err_path.read_text()[-3000:]
        raise RuntimeError(f"`lig {' '.join(args)}` failed ({proc.returncode}):\n{stdout}{stderr}")
    line = next((ln for ln in stdout.splitlines() if ln.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"`lig {' '.join(args)}` printed no JSON:\n{stdout[-2000:]}")
    own = usage.ru_utime + usage.ru_stime
    spent = {k: after[k] - before[k] for k in before}
    cpu = {
        "command": own,
        "postgresql": spent["postgresql"],
        "simulator": spent["simulator"],
        "machine": spent["machine"],
        # the rest of the machine: not this script, its children or the cluster
        "other": max(0.0, spent["machine"] - spent["ours"] - spent["postgresql"]),
    }
    return Measured(
        result=json.loads(line),
        wall_s=end - start,
        # Not ru_maxrss: after a vfork + exec it holds this script's own high-water mark.
        peak_rss_kb=hwm,
        rss_timeline_mib=timeline(samples, start, end),
        samples=len(samples),
        progress=progress,
        cpu=cpu,
    )


# ---- Verification against the simulator's fold ------------------------------------------------


def _text(value: Any) -> str | None:
    """A database or wire value as comparable text (dates ISO, booleans true/false)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def compare(
    what: str,
    expected: dict[str, tuple[Any, ...]],
    rows: list[tuple[Any, ...]],
    names: list[str],
    bools: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Rows (key, *values) read from the database against the fold's values by key."""
    found: dict[str, tuple[str | None, ...]] = {}
    duplicates = 0
    for key, *values in rows:
        if key in found:
            duplicates += 1
        found[key] = tuple(
            _text(bool(v) if n in bools and v is not None else v)
            for n, v in zip(names, values, strict=True)
        )
    missing = [k for k in expected if k not in found]
    extra = [k for k in found if k not in expected]
    wrong: list[str] = []
    fields_wrong: dict[str, int] = {}
    for key, fold in expected.items():
        got = found.get(key)
        if got is None:
            continue
        want = tuple(_text(v) for v in fold)
        if got != want:
            for n, a, b in zip(names, want, got, strict=True):
                if a != b:
                    fields_wrong[n] = fields_wrong.get(n, 0) + 1
                    if len(wrong) < 5:
                        wrong.append(f"{what} {key} {n}: expected {a!r}, stored {b!r}")
    return {
        "expected": len(expected),
        "stored": len(found),
        "rows": len(rows),
        "missing": len(missing),
        "extra": len(extra),
        "duplicates": duplicates,
        "mismatched_fields": fields_wrong,
        "examples": wrong + [f"{what} {k} missing" for k in missing[:3]],
        "ok": not (missing or extra or duplicates or fields_wrong),
    }


def expected_rows(final: FinalState) -> tuple[dict[str, tuple[Any, ...]], ...]:
    persons = {nid: tuple(d[n] for n in PERSON_FIELDS) for nid, d in final.persons.items()}
    households = {
        nid: tuple(s["household"][n] for n in HOUSEHOLD_FIELDS)
        + tuple(s["category"][n] for n in CATEGORY_FIELDS)
        for nid, s in final.households.items()
    }
    return persons, households


def verify(engine: Engine, dataset: NationalDataset, report: dict[str, Any]) -> dict[str, Any]:
    """The synced database against the simulator's own fold of its stream."""
    t = time.perf_counter()
    final = dataset.final_state()
    fold_s = time.perf_counter() - t
    persons, households = expected_rows(final)
    # What the export of this state must hold: the covered households and their living members.
    covered = {
        nid
        for nid, s in final.households.items()
        if s["category"]["status"] in EXPORTED_STATUSES and s["category"]["category"] != "NONE"
    }
    export = {
        "households": len(covered),
        "records": sum(
            1
            for p in final.persons.values()
            if p["household_id"] in covered and p["deceased_on"] is None
        ),
    }
    del final
    categories = dataset.households + sum(  # one per household, then the later ones
        1
        for seq in range(dataset.initial + 1, dataset.total + 1)
        if dataset.change(seq)["entity"] == "CATEGORY"
    )
    t = time.perf_counter()
    got_persons = compare("person", persons, engine.query(PERSONS_SQL), PERSON_FIELDS)
    del persons
    got_households = compare(
        "household",
        households,
        engine.query(HOUSEHOLDS_SQL),
        [*HOUSEHOLD_FIELDS, *CATEGORY_FIELDS],
        bools=frozenset({"former_registered_poor"}),
    )
    del households
    gc.collect()
    determinations = engine.query(
        f"SELECT count(*) FROM determinations WHERE decided_by = '{SYNC_USER}'"
    )[0][0]
    rejections = engine.query("SELECT count(*) FROM sync_rejections")[0][0]
    conflicts = engine.query("SELECT count(*) FROM sync_conflicts")[0][0]
    compare_s = time.perf_counter() - t
    problems = []
    for name, c in (("persons", got_persons), ("households", got_households)):
        if not c["ok"]:
            problems.append(f"{name}: {c['examples'][:2]} (fields {c['mismatched_fields']})")
    if determinations != categories:
        problems.append(f"{determinations} determinations, {categories} CATEGORY changes")
    if report["persons_created"] != got_persons["expected"]:
        problems.append(f"{report['persons_created']} persons created, {got_persons['expected']}")
    if rejections or conflicts or report["rejected"] or report["conflicts"]:
        problems.append(f"{rejections} rejections, {conflicts} conflicts stored")
    if report["changes"] != dataset.total:
        problems.append(f"{report['changes']} changes synced of {dataset.total}")
    return {
        "persons": got_persons,
        "households": got_households,
        "determinations": determinations,
        "category_changes": categories,
        "rejections": rejections,
        "conflicts": conflicts,
        "export_expected": export,
        "fold_s": fold_s,
        "compare_s": compare_s,
        "problems": problems,
    }


# ---- One engine, start to end -----------------------------------------------------------------


def last_month(today: dt.date) -> str:
    return f"{today.replace(day=1) - dt.timedelta(days=1):%Y-%m}"


def db_size(engine: Engine) -> int:
    if isinstance(engine, PostgresEngine):
        return int(engine.query("SELECT pg_database_size(current_database())")[0][0])
    assert isinstance(engine, SqliteEngine)
    return sum(p.stat().st_size for p in engine.path.parent.glob(engine.path.name + "*"))


def run_engine(
    engine: Engine, args: argparse.Namespace, dataset: NationalDataset
) -> dict[str, Any]:
    res: dict[str, Any] = {"engine": engine.name, "failures": []}
    engine.start()
    env = dict(os.environ, LIG_DATABASE_URL=engine.url)
    _, res["migrate_s"] = run(["db", "upgrade"], env)
    log(f"{engine.name}: migrated in {res['migrate_s']:.1f} s")

    sim = Simulator(dataset.households, args.seed, engine.tmp)
    try:
        res["simulator_start_s"] = sim.start()
        res["simulator_start_rss_kb"] = status_kb(sim.pid, "VmRSS")
        log(
            f"{engine.name}: simulator on {sim.url}, pid {sim.pid}, up in "
            f"{res['simulator_start_s']:.1f} s, RSS {res['simulator_start_rss_kb'] / 1024:.0f} MiB"
        )
        env |= {
            "LIG_NATIONAL_URL": sim.url,
            "LIG_NATIONAL_APP_KEY": DEFAULT_APP_KEY,
            "LIG_NATIONAL_APP_SECRET": DEFAULT_SECRET.decode(),
            "LIG_NATIONAL_PAGE_SIZE": str(args.page_size),
            "LIG_NATIONAL_RECEIPT_POLL_SECONDS": "0.2",
        }

        def step(label: str, cmd: list[str]) -> Measured:
            spy = Path(args.profile) / f"{label}-{engine.name}.folded" if args.profile else None
            return measure(cmd, env, engine.tmp, label, args.timeout, engine.postmaster, sim, spy)

        log(f"{engine.name}: syncing {dataset.total:,} changes ({dataset.people:,} people)")
        sync = res["sync"] = step("sync", ["sync", "national", "--json"])
        res["simulator_sync_hwm_kb"] = status_kb(sim.pid, "VmHWM")
        r = sync.result
        log(
            f"{engine.name}: synced {r['changes']:,} changes in {sync.wall_s:.1f} s "
            f"({r['changes'] / sync.wall_s:,.0f}/s, {r['persons_created'] / sync.wall_s:,.0f} "
            f"people/s), peak RSS {sync.peak_rss_kb / 1024:.0f} MiB"
        )
        res["db_bytes"] = db_size(engine)

        log(f"{engine.name}: verifying against the simulator's fold")
        check = res["verify"] = verify(engine, dataset, r)
        res["failures"] += check["problems"]
        log(
            f"{engine.name}: fold {check['fold_s']:.0f} s, compare {check['compare_s']:.0f} s: "
            + ("OK" if not check["problems"] else "; ".join(check["problems"]))
        )

        again = res["again"] = step("sync-again", ["sync", "national", "--json"])
        if again.result["changes"] or again.result["applied"]:
            res["failures"].append(f"second sync: {again.result}")
        log(f"{engine.name}: second sync: {again.result['changes']} changes")

        month = args.month or last_month(dt.date.today())
        log(f"{engine.name}: export national --month {month}")
        exp = res["export"] = step("export", ["export", "national", "--month", month, "--json"])
        res["simulator_hwm_kb"] = status_kb(sim.pid, "VmHWM")
        e, want = exp.result, check["export_expected"]
        log(
            f"{engine.name}: exported {e['households']:,} households, {e['records']:,} people in "
            f"{exp.wall_s:.1f} s, status {e['status']}, peak RSS {exp.peak_rss_kb / 1024:.0f} MiB"
        )
        if e["status"] != "DONE" or e["rejected"] or e["accepted"] != e["households"]:
            res["failures"].append(
                f"export: {e['status']}, accepted {e['accepted']}, rejected {e['rejected']}"
            )
        if (e["households"], e["records"]) != (want["households"], want["records"]):
            res["failures"].append(f"export: {e['households']}/{e['records']}, fold {want}")
    finally:
        sim.stop()
    return res


# ---- Report -----------------------------------------------------------------------------------


def phase_rates(m: Measured, dataset: NationalDataset) -> str:
    """Changes/s over the first versions (households, members, categories, in order) and over
    the later updates (random households: moves, new categories), split where the sync's
    progress crossed the last first version (interpolated between the 2 s samples)."""
    points = [(0.0, 0), *m.progress, (m.wall_s, m.result["changes"])]
    for (t0, n0), (t1, n1) in zip(points, points[1:], strict=False):
        if n1 >= dataset.initial > n0:
            at = t0 + (t1 - t0) * (dataset.initial - n0) / (n1 - n0)
            break
    else:
        return "?"
    updates = dataset.total - dataset.initial
    tail = f"{updates / (m.wall_s - at):,.0f}" if m.wall_s - at > 1 else "-"
    return f"{dataset.initial / at:,.0f} / {tail} (crossed at {at:,.0f} s)"


def mib(kb: float | None) -> str:
    return "?" if kb is None else f"{kb / 1024:,.0f} MiB"


def cpu_line(m: Measured, engine: str) -> str:
    pct = {k: 100 * v / m.wall_s for k, v in m.cpu.items()}
    parts = [f"command {pct['command']:.0f} %"]
    if engine == "postgresql":
        parts.append(f"PostgreSQL {pct['postgresql']:.0f} %")
    parts += [f"simulator {pct['simulator']:.0f} %", f"other {pct['other']:.0f} %"]
    return ", ".join(parts) + f" (machine {pct['machine']:.0f} %)"


def column(r: dict[str, Any], dataset: NationalDataset) -> dict[str, str]:
    """One engine's figures, by row label."""
    out: dict[str, str] = {}
    with contextlib.suppress(KeyError, TypeError):
        s: Measured = r["sync"]
        x = s.result
        out["lig db upgrade"] = f"{r['migrate_s']:.1f} s"
        out["sync wall time (process start to exit)"] = f"{s.wall_s:,.1f} s"
        out["  sync's own clock (no start-up)"] = (
            f"{x['seconds']:,.1f} s = {x['changes_per_second']:,.0f} changes/s"
        )
        out["changes synced / pages / requests"] = (
            f"{x['changes']:,} / {x['pages']:,} / {x['requests']:,}"
        )
        out["changes/s (wall)"] = f"{x['changes'] / s.wall_s:,.0f}"
        out["  first versions / updates"] = phase_rates(s, dataset)
        out["people/s (persons created / wall)"] = f"{x['persons_created'] / s.wall_s:,.0f}"
        out["created: households / people"] = (
            f"{x['households_created']:,} / {x['persons_created']:,}"
        )
        out["updated: households / people; categories; moves"] = (
            f"{x['households_updated']:,} / {x['persons_updated']:,}; "
            f"{x['categories_applied']:,}; {x['moves']:,}"
        )
        out["stale / conflicts / rejected"] = f"{x['stale']} / {x['conflicts']} / {x['rejected']}"
        out["sync peak RSS"] = mib(s.peak_rss_kb)
        out["  sync RSS at each tenth"] = " ".join(map(str, s.rss_timeline_mib)) + " MiB"
        out["sync CPU (100 % = a core)"] = cpu_line(s, r["engine"])
        out["simulator RSS: started -> peak in sync"] = (
            f"{mib(r['simulator_start_rss_kb'])} -> {mib(r['simulator_sync_hwm_kb'])}"
        )
        out["database size after the sync"] = f"{r['db_bytes'] / 2**20:,.0f} MiB"
        v = r["verify"]
        for name in ("persons", "households"):
            c = v[name]
            out[f"{name}: stored = fold"] = (
                f"{c['stored']:,} = {c['expected']:,}, fields "
                + ("all equal" if c["ok"] else f"DIFFER {c['mismatched_fields']}")
                + (
                    f", missing {c['missing']}, extra {c['extra']}"
                    if c["missing"] or c["extra"]
                    else ""
                )
            )
        out["determinations = CATEGORY changes"] = (
            f"{v['determinations']:,} = {v['category_changes']:,}"
            + ("" if v["determinations"] == v["category_changes"] else " MISMATCH")
        )
        out["stored rejections / conflicts"] = f"{v['rejections']} / {v['conflicts']}"
        a = r["again"]
        out["second sync"] = (
            f"{a.result['changes']} changes, {a.result['applied']} applied, {a.wall_s:.1f} s"
        )
        e: Measured = r["export"]
        y = e.result
        out["export month"] = y["month"]
        out["export wall time (spool, upload, receipt)"] = (
            f"{e.wall_s:,.1f} s (own clock {y['seconds']:,.1f} s)"
        )
        out["exported households / people"] = (
            f"{y['households']:,} / {y['records']:,} (fold: "
            f"{v['export_expected']['households']:,} / {v['export_expected']['records']:,})"
        )
        out["export receipt"] = (
            f"{y['status']}, accepted {y['accepted']:,}, rejected {y['rejected']:,}"
        )
        out["export households/s (wall)"] = f"{y['households'] / e.wall_s:,.0f}"
        out["export peak RSS"] = mib(e.peak_rss_kb)
        out["  export RSS at each tenth"] = " ".join(map(str, e.rss_timeline_mib)) + " MiB"
        out["export CPU"] = cpu_line(e, r["engine"])
        out["simulator peak RSS (whole run)"] = mib(r["simulator_hwm_kb"])
    out["failures"] = "; ".join(r["failures"]) or "none"
    return out


def render(
    results: list[dict[str, Any]],
    args: argparse.Namespace,
    dataset: NationalDataset,
    meta: dict[str, Any],
) -> str:
    columns = [column(r, dataset) for r in results]
    labels = list(dict.fromkeys(label for c in columns for label in c))
    head = ("figure", *(r["engine"] for r in results))
    rows = [(label, *(c.get(label, "-") for c in columns)) for label in labels]
    widths = [max(len(row[i]) for row in (head, *rows)) for i in range(len(head))]
    table = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in (head, tuple("-" * w for w in widths), *rows)
    ]
    intro = [
        f"bench/sync.py {' '.join(sys.argv[1:])}".rstrip(),
        f"started {meta['started']}, total {meta['total_s']:,.0f} s; {meta['machine']}",
        f"code: {meta['code']}",
        f"other processes before the run: load average {meta['loadavg']}",
        f"data: simulator seed {args.seed}, {dataset.households:,} households, "
        f"{dataset.people:,} people, {dataset.total:,} changes "
        f"({dataset.initial:,} first versions + {dataset.total - dataset.initial:,} updates); "
        f"page size {args.page_size}",
        "",
    ]
    if meta.get("note"):
        intro[3:3] = [meta["note"]]
    if meta["code_after"].rsplit(" ", 1)[1] != meta["code"].rsplit(" ", 1)[1]:
        # Each `lig` command reads the code when it starts: later steps ran other code.
        intro[3:3] = [f"SOURCES CHANGED DURING THE RUN, at the end: {meta['code_after']}"]
    elif meta["code_after"] != meta["code"]:
        intro[3:3] = [f"(committed during the run, same sources: {meta['code_after']})"]
    return "\n".join(intro + table) + "\n"


def snapshot(dest: Path) -> Path:
    """The working tree's files as they are now (tracked, and untracked but not ignored) in
    `dest`: what `git archive` gives for a commit, for the uncommitted state."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a deleted, not yet staged file is still listed
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def use_ref(
    ref: str | None,
    dest: Path,
    local: tuple[str, ...] = ("adapters/national/dataset.py",),
    uses: str = "the fold uses",
) -> tuple[str, str | None]:
    """Make every `lig` this script runs come from `git archive REF` in `dest`, or with no REF
    from a snapshot of the working tree (PYTHONPATH goes ahead of the venv's editable install),
    so that edits made during the run do not change what is measured: the code line, and a note
    if a file the script itself imports from the working tree (`local`: for the sync, the
    fold's dataset.py) differs from REF's. Also used by bench/compare.py."""
    src = export_ref(ref, dest) if ref else snapshot(dest)
    os.environ["PYTHONPATH"] = str(src)
    where = subprocess.run(
        [sys.executable, "-c", "import gateway, adapters; print(adapters.__file__)"],
        cwd=dest.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not where.startswith(str(src)):
        raise RuntimeError(f"with PYTHONPATH={src} Python still imports {where}")
    fp = ref_fingerprint(src, ref)
    if not ref:
        fp["where"] = "working tree, copied at the start"
    differ = [
        f
        for f in local
        if not (src / f).exists() or (src / f).read_bytes() != (ROOT / f).read_bytes()
    ]
    note = f"NOTE: {uses} the working tree's {', '.join(differ)}, not {ref}'s" if differ else None
    return f"{fp['git_head']} ({fp['where']}), sources sha256 {fp['sources_sha256']}", note


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--people", type=int, default=1_000_000, help="people in the simulator")
    p.add_argument("--page-size", type=int, default=1000, help="LIG_NATIONAL_PAGE_SIZE")
    p.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="postgresql")
    p.add_argument("--seed", type=int, default=2026, help="the simulator's seed")
    p.add_argument("--month", help="the month exported (default: last month)")
    p.add_argument("--timeout", type=float, default=3 * 3600, help="seconds a command may take")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, databases)")
    p.add_argument("--profile", metavar="DIR", help="py-spy the sync and the export into DIR")
    p.add_argument("--out", help="report file (default bench/results/sync-<date>.txt)")
    p.add_argument(
        "--ref", help="run `lig` from `git archive REF` in the temp dir, not the working tree"
    )
    args = p.parse_args()
    take_signals()

    started = dt.datetime.now()
    meta: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "code": code_fingerprint(),
    }
    dataset = NationalDataset(args.seed, households_for(args.people, args.seed))
    log(f"{dataset.households:,} households = {dataset.people:,} people, {dataset.total:,} changes")
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    tmp = Path(tempfile.mkdtemp(prefix="lig-bench-sync-"))
    tmp.chmod(0o711)  # PostgreSQL runs as its own user, in a directory of this one
    results = []
    try:
        if args.ref:
            meta["code"], meta["note"] = use_ref(args.ref, tmp / "src")
        for name in engines:
            where = tmp / name
            where.mkdir()
            engine = SqliteEngine(where) if name == "sqlite" else PostgresEngine(where)
            try:
                results.append(run_engine(engine, args, dataset))
            except Exception as exc:  # noqa: BLE001 - report it, go on with the next engine
                log(f"{name}: FAILED: {exc}")
                results.append({"engine": name, "failures": [f"{exc}".splitlines()[0]]})
            finally:
                engine.stop()
    except (Interrupted, KeyboardInterrupt) as exc:
        log(f"interrupted ({exc or 'Ctrl-C'})")
        return 130
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    meta["total_s"] = time.perf_counter() - T0
    meta["code_after"] = meta["code"] if args.ref else code_fingerprint()
    report = render(results, args, dataset, meta)
    out = Path(args.out) if args.out else RESULTS / f"sync-{started:%Y-%m-%d}.txt"
    if not args.out and out.exists():
        out = out.with_name(f"{out.stem}-{started:%H%M%S}.txt")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(report)
    log(f"written {out}")
    return 1 if any(r["failures"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
