"""The report of bench/province.py: markdown from the run's results (the .json has them all).

Each part renders what its workload reached; a part that cannot be rendered says so instead of
failing the report.
"""

from __future__ import annotations

from typing import Any

from eligibility import SCENARIOS
from province_raw import PAGE, RECORDS


def fmt(x: Any, nd: int = 1) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "n/a"
    return f"{x:,.{nd}f}" if isinstance(x, int | float) and not isinstance(x, bool) else str(x)


def verdict(t: dict[str, Any]) -> str:
    if t["met"] is None:
        return "not measured"
    return f"{fmt(t['measured'], 3)} ({'met' if t['met'] else '**not met**'})"


def sizes(res: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(res["scales"].values(), key=lambda s: s["people"])


def setup_lines(res: dict[str, Any]) -> list[str]:
    a, mi = res["args"], res["machine"]
    pgl = res.get("postgraphile") or {}
    first = sizes(res)[0] if res["scales"] else {}
    gw = first.get("gateway") or {}
    lines = [
        "## Setup",
        "",
        f"- Machine: {mi['cpu']}, {mi['cores']} cores, {mi['ram_gb']} GB RAM, Linux "
        f"{mi['kernel']}, Python {mi['python']}. The load generator, the server under test and "
        f"PostgreSQL share these cores. Other processes before the run: "
        f"{res['other_cpu_before_pct']:.0f} % CPU (100 % = one core), load average "
        f"{res['loadavg_before']}; at the end {res.get('loadavg_after', '?')}.",
        f"- {first.get('pg_version', 'PostgreSQL')}, a throwaway cluster per size on 127.0.0.1 "
        "(bench/eligibility.py's settings: shared_buffers 1GB, **fsync, synchronous_commit and "
        "full_page_writes off: benchmark-only, not durable**).",
        f"- Code: {res['code']}." + (f" {res['code_note']}" if res.get("code_note") else ""),
        f"- Gateway: `{gw.get('command', 'lig serve')}`, LIG_DB_POOL_SIZE={a['pool_size']} per "
        "process; eligibility as a medical-security client, pages of households as a "
        "civil-affairs client, pushes as a second medical-security client (`lig clients add`, "
        "bearer tokens from POST /oauth/token, an `X-Purpose` on every request).",
        f"- PostGraphile {pgl.get('postgraphile', '?')} on node {pgl.get('node_version', '?')} "
        f"({pgl.get('node', '?')}), installed from the npm registry into {pgl.get('dir', '?')}: "
        "the Amber preset, the schema `pgbench_eligibility` only (bench/postgraphile/"
        "eligibility.sql: one SQL function, a list not a connection), no GraphiQL, no watch "
        f"mode, no explain, NODE_ENV=production, a pool of {a['postgraphile_pool']}, one node "
        "process, no auth.",
        f"- Load: wrk, {a['wrk_threads']} threads, {a['concurrency']} connections, keep-alive, "
        f"{a['rounds']} rounds × {a['duration']} s after a {a['warmup']} s warm-up per scenario "
        "(bench/eligibility.lua); figures are medians of the rounds. Raw-SQL floors: asyncpg, "
        f"{a['concurrency']} connections and workers, one prepared statement per request, in a "
        "process of their own (bench/province_raw.py).",
        f"- Requests: {a['batches']:,} batches of 100 and {a['singles']:,} single IDs from "
        f"{a['sample']:,} sampled ID numbers, {a['unknown_share']:.0%} unknown; {a['pages']:,} "
        f"pages of {PAGE} households at random keyset positions with members and the latest "
        f"{RECORDS} current assistance records; pushes of {a['push_records']:,} records "
        f"({a['known_share']:.0%} naming people of the data set) after one of "
        f"{a['push_warmup']:,}.",
        "",
    ]
    return lines


def target_lines(res: dict[str, Any]) -> list[str]:
    ss = sizes(res)
    head = "| target | wanted | " + " | ".join(f"{s['people']:,} people" for s in ss) + " |"
    lines = ["## Targets", "", head, "|---|---|" + "---:|" * len(ss)]
    for i, t in enumerate(ss[0]["targets"] if ss else []):
        cells = " | ".join(verdict(s["targets"][i]) for s in ss)
        lines.append(f"| {t['target']} | {t['wanted']} | {cells} |")
    for t in res.get("summary_targets", []):
        lines.append(f"| {t['target']} | {t['wanted']} | {verdict(t)} |" + " |" * (len(ss) - 1))
    if len(ss) < 2:
        lines.append(
            "| memory bounded; every figure within 20 % from 1,000,000 to 3,500,000 people | "
            "two sizes (`--scales`) | not measured: one size in this run |"
        )
    lines += [
        "",
        "Each target is a ratio of two figures measured in this run, on the same database and "
        "machine. Statements per request: what PostgreSQL executed at top level "
        "(pg_stat_statements) over sequential requests, counting the statements each request "
        "ran (those run at least once per request); the total with the servers' background "
        "work in the same window (audit sealer, job leases, comparison queue, webhooks) is "
        "under Eligibility.",
        "",
    ]
    return lines


def data_lines(res: dict[str, Any]) -> list[str]:
    lines = [
        "## Data",
        "",
        "| people | households | assistance records | monitoring events | generated in "
        "(tables + keys, indexes, foreign keys) | VACUUM ANALYZE | database | schema = "
        "`lig db upgrade`'s |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in sizes(res):
        d = s.get("data") or {}
        rows = d.get("rows") or {}
        if not rows:
            lines.append(f"| {s['people']:,} | failed | | | | | | |")
            continue
        lines.append(
            f"| {rows['persons']:,} | {rows['households']:,} | {rows['assistance_records']:,} "
            f"| {rows['monitoring_events']:,} | **{d['load_s']:.0f} s** ({d['tables_s']:.0f} + "
            f"{d['constraints_s']:.0f}) | {fmt(d.get('vacuum_s'), 0)} s | {d.get('db_size', '?')} "
            f"| {'equal' if d['schema_equal'] else '**DIFFERS**'} |"
        )
    lines += [
        "",
        "Generated inside PostgreSQL by bench/province_data.py (INSERT … SELECT over "
        "generate_series, deterministic per seed; two tables at a time; keys, indexes and "
        "foreign keys made after the rows), also: one household_versions, economic_situations "
        "row per household, determinations for the covered ones, verification authorisations "
        "for 95 %. `lig db upgrade` (migrations, reference data) is not included.",
        "",
    ]
    return lines


def server_row(label: str, r: dict[str, Any] | None, size: int = 1) -> str:
    if not r:
        return f"| {label} | not run | | | | | | | |"
    cpu = f"{r['gateway_cpu_pct']:.0f} %" if "gateway_cpu_pct" in r else "–"
    return (
        f"| {label} | {fmt(r['rps'])} | {fmt(r['rps'] * size, 0)} | {fmt(r['p50_ms'], 2)} | "
        f"{fmt(r['p99_ms'], 2)} | {r['errors']} | {cpu} | {r['machine_cpu_pct']:.0f} % | "
        f"{r['other_cpu_pct']:.0f} % / {r['steal_pct']:.0f} % |"
    )


SERVERS = (("gateway", "gateway"), ("postgraphile", "PostGraphile"), ("raw", "raw SQL"))


def eligibility_lines(res: dict[str, Any]) -> list[str]:
    lines = [
        "## Eligibility",
        "",
        "| people, IDs per request, server | req/s | IDs/s | p50 ms | p99 ms | errors | "
        "server CPU | machine CPU | other / steal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes(res):
        for sc, n in SCENARIOS.items():
            for key, name in SERVERS:
                r = s["eligibility"][sc].get(key)
                lines.append(server_row(f"{s['people']:,}, {n}, {name}", r, n))
    lines += [
        "",
        "Server CPU: the gateway's processes (master and workers) or PostGraphile's node "
        "process, 100 % = one core; other: CPU of processes that are not this run's.",
        "",
    ]
    for s in sizes(res):
        lines += [f"**{s['people']:,} people.** " + " ".join(eligibility_notes(s)), ""]
    return lines


def eligibility_notes(s: dict[str, Any]) -> list[str]:
    notes = []
    for server in ("gateway", "postgraphile"):
        st = (s.get("statements") or {}).get(server) or {}
        for sc in SCENARIOS:
            if x := st.get(sc):
                top = "; ".join(f"{c} × `{q[:90]}`" for c, q in x["top"][:4])
                notes.append(
                    f"{server} {sc}: **{x['own_per_request']:.2f}** statements per request run "
                    f"by the requests themselves; {x['per_request']:.2f} counting the window's "
                    f"background work ({x['background']} statements) ({top})."
                )
        ck = (s.get("eligibility_check") or {}).get(server)
        if ck:
            notes.append(
                f"{server} answers: {ck.get('batches', 0)} batches ({ck.get('ids', 0):,} IDs) "
                f"{'all equal to raw SQL' if ck['ok'] else '**MISMATCH**'}, statuses "
                + ", ".join(f"{k} {v}" for k, v in sorted(ck.get("statuses", {}).items()))
                + "."
            )
    if au := s.get("audit"):
        notes.append(
            f"Audit: {au['rows']:,} READ events of eligibility for {au['requests']:,} requests "
            f"answered (+{au['difference']} in flight, at most {au['in_flight_allowance']}): "
            f"{'one per request' if au['ok'] else '**MISMATCH**'}."
        )
    return notes


def households_lines(res: dict[str, Any]) -> list[str]:
    lines = [
        "## A page of households",
        "",
        f"`households(first: {PAGE}, after: <random position>)` with `members {{ relation "
        f"joinedOn person {{ idNumber name }} }}` and `assistanceRecords(first: {RECORDS})` "
        "(agency, record id, kind, amount, period), as a civil-affairs client; the floor is one "
        "hand-written statement returning the same (bench/province_raw.py HOUSEHOLDS_SQL).",
        "",
        "| people, server | req/s | households/s | p50 ms | p99 ms | errors | server CPU | "
        "machine CPU | other / steal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes(res):
        h = s.get("households") or {}
        for key, name in (("gateway", "gateway"), ("raw", "raw SQL")):
            lines.append(server_row(f"{s['people']:,}, {name}", h.get(key), PAGE))
    lines.append("")
    for s in sizes(res):
        h = s.get("households") or {}
        g, r, ck = h.get("gateway"), h.get("raw"), h.get("check")
        st = ((s.get("statements") or {}).get("gateway") or {}).get("households")
        parts = [f"**{s['people']:,} people.**"]
        if g and r:
            parts.append(
                f"gateway ÷ floor: {g['rps'] / r['rps']:.3f} (req/s), p99 "
                f"{g['p99_ms'] / r['p99_ms']:.1f}×."
            )
        if ck:
            parts.append(
                f"{ck['pages']} pages ({ck['households']:,} households) "
                f"{'equal to the floor' if ck['ok'] else '**MISMATCH**'}."
            )
        if st:
            top = "; ".join(f"{c} × `{q[:80]}`" for c, q in st["top"][:5])
            parts.append(
                f"**{st['own_per_request']:.2f}** statements per request run by the requests, "
                f"{st['per_request']:.2f} with background work ({top})."
            )
        lines += [" ".join(parts), ""]
    return lines


def push_lines(res: dict[str, Any]) -> list[str]:
    lines = [
        "## Push",
        "",
        "| people | records per push | gateway records/s (median) | push wall time | gateway "
        "CPU / PostgreSQL CPU | raw COPY rows/s | gateway ÷ COPY |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes(res):
        p = s.get("push") or {}
        g, r = p.get("gateway"), p.get("raw")
        if not g:
            lines.append(f"| {s['people']:,} | not run | | | | | |")
            continue
        cpu = (
            " ".join(
                f"{x['gateway_cpu_pct']:.0f} %/{x['postgres_cpu_pct']:.0f} %" for x in g["rounds"]
            )
            if g["rounds"] and "postgres_cpu_pct" in g["rounds"][0]
            else "–"
        )
        lines.append(
            f"| {s['people']:,} | {g['rounds'][0]['records']:,} | {fmt(g['records_per_s'], 0)} | "
            f"{fmt(g['wall_s'], 2)} s | {cpu} | {fmt((r or {}).get('rows_per_s'), 0)} | "
            f"{fmt(p.get('ratio'), 3)} |"
        )
    lines += [
        "",
        "Each push: `POST /api/v1/assistance-records`, NDJSON streamed in 64 KiB chunks, an "
        "Idempotency-Key, the receipt read to its end, every item ACCEPTED; the floor: the same "
        "rows read back, deleted, and COPYed again in one transaction (asyncpg).",
        "",
    ]
    return lines


def compare_lines(res: dict[str, Any]) -> list[str]:
    lines = [
        "## Comparison",
        "",
        "| people | what ran | households | lig compare | households/s | peak RSS | floor "
        "(best of 3) | compare ÷ floor | floor = warnings |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in sizes(res):
        c = s.get("compare")
        if not c or not c.get("run"):
            why = (c or {}).get("why", "not run (not selected, or failed: see Failures)")
            lines.append(f"| {s['people']:,} | not run: {why} | | | | | | | |")
            continue
        ck = c["check"]
        lines.append(
            f"| {s['people']:,} | `{c['command']}` | {c['households']:,} | {c['wall_s']:.1f} s | "
            f"{c['households_per_s']:,.0f} | {c['peak_rss_mb']:.0f} MiB | "
            f"{c['floor']['best_s']:.3f} s | {c['ratio']:,.0f} × | "
            + (f"yes ({ck['floor']:,} households)" if not ck["problems"] else "**NO**")
            + " |"
        )
    lines += [
        "",
        "The floor is bench/compare.py's one statement for `policy.medical` (one of the 17 "
        "rules), restricted to the same region when the pass was; the pass opens, routes, "
        "assigns and audits every warning of every rule. Above `--compare-max-households`, "
        "`--compare auto` runs the pass on one town's households (~8 % of them): a full pass "
        "of the province takes hours at today's rate.",
        "",
    ]
    return lines


PHASES: tuple[tuple[str, str], ...] = (
    ("start", "start-up"),
    ("eligibility", "eligibility"),
    ("households", "pages"),
    ("push", "pushes"),
)


def memory_lines(res: dict[str, Any]) -> list[str]:
    lines = [
        "## Peak memory (VmHWM, MiB) and CPU by process",
        "",
        "| people | process | peak after "
        + " / ".join(name for _, name in PHASES)
        + " | **peak** | CPU s in eligibility / pages / pushes |",
        "|---:|---|---:|---:|---:|",
    ]
    for s in sizes(res):
        lines += gateway_memory_rows(s)
        for p in (s.get("postgraphile") or {}).get("memory", []):
            start = s["postgraphile"]["memory_by_phase"]["start"][0]["peak_mb"]
            lines.append(
                f"| {s['people']:,} | PostGraphile node (pid {p['pid']}) | {fmt(start, 0)} at "
                f"start-up | **{fmt(p['peak_mb'], 0)}** | |"
            )
        raws = [(f"{sc}", s["eligibility"][sc].get("raw")) for sc in SCENARIOS]
        raws.append(("households page", (s.get("households") or {}).get("raw")))
        for name, r in raws:
            if r:
                lines.append(
                    f"| {s['people']:,} | raw-SQL client, {name} | | "
                    f"**{fmt(r['client_peak_mb'], 0)}** | |"
                )
        if (c := s.get("compare")) and c.get("run"):
            lines.append(f"| {s['people']:,} | `lig compare` | | **{c['peak_rss_mb']:.0f}** | |")
    lines += [
        "",
        "PostgreSQL's memory is not included. CPU: seconds each gateway process used during "
        "each workload (with `--workers`, how the connections' work splits between workers).",
        "",
    ]
    return lines


def gateway_memory_rows(s: dict[str, Any]) -> list[str]:
    gw = s.get("gateway") or {}
    phases = gw.get("memory_by_phase") or {}

    def at(phase: str, pid: int) -> dict[str, Any] | None:
        return next((x for x in phases.get(phase, []) if x["pid"] == pid), None)

    rows = []
    for p in gw.get("memory", []):
        peaks, cpu = [], []
        last = at("start", p["pid"])
        for phase, _ in PHASES:
            hit = at(phase, p["pid"])
            peaks.append(fmt(hit["peak_mb"], 0) if hit else "–")
            if phase != "start":
                used = hit and last and (hit["cpu_s"] or 0) - (last["cpu_s"] or 0)
                cpu.append(fmt(used, 1) if hit and last else "–")
                last = hit or last
        rows.append(
            f"| {s['people']:,} | gateway {p['role']} (pid {p['pid']}) | {' / '.join(peaks)} | "
            f"**{fmt(p['peak_mb'], 0)}** | {' / '.join(cpu)} |"
        )
    return rows


def ratio_lines(res: dict[str, Any]) -> list[str]:
    if not res.get("scale_ratios"):
        return []
    ss = sizes(res)
    lines = [
        f"## From {ss[0]['people']:,} to {ss[-1]['people']:,} people",
        "",
        "| figure | smaller | larger | larger ÷ smaller | within 20 % |",
        "|---|---:|---:|---:|---|",
    ]
    for r in res["scale_ratios"]:
        ok = {None: "n/a", True: "yes", False: "**no**"}[r["within_20"]]
        lines.append(
            f"| {r['figure']} | {fmt(r['small'])} | {fmt(r['large'])} | "
            f"{fmt(r['ratio'], 3)} | {ok} |"
        )
    lines += [
        "",
        "Within 20 %: throughput at least 0.8 × the smaller size's, latency and memory at most "
        "1.2 ×.",
        "",
    ]
    return lines


def sync_lines(res: dict[str, Any]) -> list[str]:
    y = res.get("sync")
    if not y:
        return ["## National sync", "", "Not run (not selected).", ""]
    if "wall_s" not in y:
        return ["## National sync", "", "Failed: " + "; ".join(y["failures"]), ""]
    return [
        "## National sync",
        "",
        f"bench/sync.py's run (a cluster of its own, `lig simulate national --seed {y['seed']}`, "
        f"`lig sync national`): {y['people']:,} people, {y['changes']:,} changes.",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| sync wall time | {y['wall_s']:,.1f} s |",
        f"| changes/s | {y['changes_per_s']:,.0f} |",
        f"| people/s | {y['people_per_s']:,.0f} |",
        f"| sync peak RSS | {y['peak_rss_mb']:,.0f} MiB (at each tenth: "
        f"{' '.join(map(str, y['rss_timeline_mib']))}) |",
        f"| verified against the simulator's fold | {'yes' if y['verified'] else '**NO**'} |",
        f"| second sync | {y['second_sync_changes']} changes |",
        f"| export national | {y['export_households']:,} households in {y['export_wall_s']:,.1f} s "
        f"({y['export_households_per_s']:,.0f}/s), peak RSS {y['export_peak_rss_mb']:,.0f} MiB |",
        "",
    ]


def rounds_lines(res: dict[str, Any]) -> list[str]:
    lines = [
        "## Rounds",
        "",
        "| people | scenario | server | round | req/s | p50 ms | p99 ms | max ms | requests | "
        "errors | other / steal |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes(res):
        sets = [(sc, s["eligibility"][sc]) for sc in SCENARIOS]
        sets.append(("households page", s.get("households") or {}))
        for sc, by in sets:
            for key, name in SERVERS:
                r = by.get(key)
                for i, x in enumerate(r["rounds"] if r else [], 1):
                    lines.append(
                        f"| {s['people']:,} | {sc} | {name} | {i} | {fmt(x['rps'])} | "
                        f"{fmt(x['p50_ms'], 2)} | {fmt(x['p99_ms'], 2)} | {fmt(x['max_ms'])} | "
                        f"{x['requests']:,} | {x['errors']} | {x['other_cpu_pct']:.0f} % / "
                        f"{x['steal_pct']:.0f} % |"
                    )
    return lines + [""]


def render(res: dict[str, Any]) -> str:
    title = f"# Province benchmark, {res['started']}" + (" (quick run)" if res["quick"] else "")
    lines = [title, "", f"Command: `{res['command']}`", ""]
    if res["quick"]:
        lines += [
            "**Quick run**: a small data set and short rounds; a check that the benchmark "
            "works, not figures to compare with full runs.",
            "",
        ]
    for part in (
        setup_lines,
        target_lines,
        data_lines,
        eligibility_lines,
        households_lines,
        push_lines,
        compare_lines,
        memory_lines,
        ratio_lines,
        sync_lines,
    ):
        try:
            lines += part(res)
        except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError) as exc:
            lines += [f"({part.__name__} could not be rendered: {exc!r})", ""]
    failures = [f for s in sizes(res) for f in s["failures"]] + res["failures"]
    failures += (res.get("sync") or {}).get("failures", [])
    lines += ["## Failures", ""] + ([f"- {f}" for f in failures] or ["none", ""])
    lines += [""] + rounds_lines(res)
    for s in sizes(res):
        if plan := (s.get("data") or {}).get("plan"):
            lines += [f"Raw-SQL plan, 100 IDs, {s['people']:,} people:", "", "```", plan, "```", ""]
    lines.append(f"Total run time {res['total_s'] / 60:.1f} min.")
    return "\n".join(lines) + "\n"
