"""The warning queue, one warning, and the actions on it (each confirmed, then audited by the
mutation that carries it out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import select
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.console.rendering import language_of, render
from gateway.console.web import Me, PageError, ask, page, path_id
from gateway.domain.enums import (
    OPEN_WARNING_STATUSES,
    Resolution,
    Severity,
    WarningKind,
    WarningStatus,
)
from gateway.domain.regions import within
from gateway.models import Agency, Region
from gateway.monitoring.lifecycle import COORDINATION, MOVES

PAGE_SIZE = 50
# The queue shows the warnings still to be worked unless asked otherwise.
ACTIVE = sorted(OPEN_WARNING_STATUSES)
ANY_STATUS = "ALL"


@dataclass(frozen=True, slots=True)
class Choices:
    """What the filters offer: agencies (code, 中文, English) and the towns the person sees."""

    agencies: list[tuple[str, str, str]]
    towns: list[tuple[str, str]]


async def choices(request: Request, me: Me) -> Choices:
    async with request.app.state.db.reader.connect() as conn:
        agencies = (await conn.execute(select(Agency.code, Agency.name_zh, Agency.name_en))).all()
        towns = (
            await conn.execute(
                select(Region.code, Region.name).where(Region.level == "TOWN").order_by(Region.code)
            )
        ).all()
    region = me.principal.region_code
    return Choices(
        agencies=sorted((a.code, a.name_zh, a.name_en) for a in agencies),
        towns=[(t.code, t.name) for t in towns if region is None or within(t.code, region)],
    )


def agency_names(found: Choices, language: str) -> dict[str, str]:
    return {code: zh if language == "zh-CN" else en for code, zh, en in found.agencies}


def _one_of(params: QueryParams, name: str, allowed: set[str]) -> str | None:
    value = params.get(name) or None
    if value is not None and value not in allowed:
        raise PageError(400, "error.title", f"{name}: unknown value {value[:40]!r}")
    return value


def _filter(params: QueryParams, found: Choices) -> tuple[dict[str, Any], dict[str, str]]:
    """The GraphQL filter from the query string, and the values to show back in the form."""
    kind = _one_of(params, "kind", {k.value for k in WarningKind})
    status = _one_of(params, "status", {s.value for s in WarningStatus} | {ANY_STATUS})
    agency = _one_of(params, "agency", {a[0] for a in found.agencies})
    region = _one_of(params, "region", {t[0] for t in found.towns})
    severity = _one_of(params, "severity", {s.value for s in Severity})
    overdue = _one_of(params, "overdue", {"yes", "no"})
    graphql: dict[str, Any] = {}
    if kind:
        graphql["kinds"] = [kind]
    if agency:
        graphql["agency"] = agency
    if region:
        graphql["regionCode"] = region
    if severity:
        graphql["severities"] = [severity]
    if overdue:
        graphql["overdue"] = overdue == "yes"
    shown = {
        "kind": kind or "",
        "status": status or "",
        "agency": agency or "",
        "region": region or "",
        "severity": severity or "",
        "overdue": overdue or "",
    }
    return graphql, shown


def _statuses(status: str) -> list[str] | None:
    if status == ANY_STATUS:
        return None
    return [status] if status else [s.value for s in ACTIVE]


QUEUE = """
query ConsoleQueue($filter: WarningFilterInput, $counts: WarningFilterInput,
                   $first: Int, $after: String) {
  warnings(filter: $filter, first: $first, after: $after) {
    nodes {
      id kind finding severity status dueOn overdue agencies hardshipType
      subjects { name idNumber masked }
      household { id code region { name } }
    }
    pageInfo { hasNextPage endCursor }
  }
  warningCounts(filter: $counts) { status count }
}
"""


@page
async def queue_page(request: Request, me: Me) -> Response:
    found = await choices(request, me)
    base, shown = _filter(request.query_params, found)
    after = request.query_params.get("after") or None
    listed = {**base, "statuses": _statuses(shown["status"])}
    data = await ask(
        request,
        me,
        QUEUE,
        {"filter": listed, "counts": base, "first": PAGE_SIZE, "after": after},
    )
    counts = {c["status"]: c["count"] for c in data["warningCounts"]}
    page_info = data["warnings"]["pageInfo"]
    next_link = None
    if page_info["hasNextPage"]:
        next_link = "?" + urlencode(
            {**{k: v for k, v in shown.items() if v}, "after": page_info["endCursor"]}
        )
    first_link = "?" + urlencode({k: v for k, v in shown.items() if v}) if after else None
    language = language_of(request)
    return render(
        request,
        "queue.html",
        {
            "me": me,
            "section": "queue",
            "warnings": data["warnings"]["nodes"],
            "counts": [(s.value, counts.get(s.value, 0)) for s in WarningStatus],
            "total": sum(counts.values()),
            "shown": shown,
            "choices": found,
            "agency_names": agency_names(found, language),
            "kinds": [k.value for k in WarningKind],
            "statuses": [s.value for s in WarningStatus],
            "severities": [s.value for s in Severity],
            "next_link": next_link,
            "first_link": first_link,
        },
    )


def _warning_query(me: Me) -> str:
    household = me.fields(
        "Household",
        "id",
        "code",
        "address",
        "category",
        "status",
        "validUntil",
        "region { name }",
        "members { nodes { relation person { name idNumber age } } }",
    )
    warning = me.fields(
        "Warning",
        "id",
        "kind",
        "finding",
        "severity",
        "status",
        "dueOn",
        "overdue",
        "hardshipType",
        "evidence",
        "resolution",
        "resolutionNote",
        "lastFoundOn",
        "version",
        "createdAt",
        "agencies",
        "rule { id clause summary }",
        "subjects { name idNumber phone address masked }",
        f"household {{ {household} }}",
        "history { fromStatus toStatus at by " + me.fields("WarningTransition", "note") + " }",
    )
    return f"query ConsoleWarning($id: ID!) {{ warning(id: $id) {{ {warning} }} }}"


def available_actions(me: Me, status: str) -> list[str]:
    """The actions the person's schema view holds (auth/policy.py decides) that a warning in
    this status allows."""
    return [
        action
        for action, (sources, _) in MOVES.items()
        if status in {s.value for s in sources} and me.sees("Mutation", f"{action}Warning")
    ]


async def _warning(request: Request, me: Me, warning_id: str) -> dict[str, Any]:
    data = await ask(request, me, _warning_query(me), {"id": warning_id})
    warning = data["warning"]
    if warning is None:
        raise PageError(404, "error.not_found")
    result: dict[str, Any] = warning
    return result


@page
async def warning_page(request: Request, me: Me) -> Response:
    warning_id = path_id(request.path_params["id"])
    warning = await _warning(request, me, warning_id)
    found = await choices(request, me)
    language = language_of(request)
    done = request.query_params.get("done")
    return render(
        request,
        "warning.html",
        {
            "me": me,
            "section": "queue",
            "w": warning,
            "evidence": orjson.dumps(warning["evidence"], option=orjson.OPT_INDENT_2).decode()
            if "evidence" in warning
            else None,
            **_evidence_table(warning.get("evidence")),
            "actions": available_actions(me, warning["status"]),
            "agency_names": agency_names(found, language),
            # Escalation, not dispatch, brings in the coordination mechanism.
            "dispatchable": [a for a in found.agencies if a[0] != COORDINATION],
            "resolutions": [r.value for r in Resolution],
            "done": done if done in MOVES else None,
        },
    )


def _evidence_table(evidence: Any) -> dict[str, Any]:
    """Evidence items (flat JSON objects, as the comparison rules write them) as table rows;
    anything else is shown only as JSON."""
    rows = evidence if isinstance(evidence, list) else [evidence] if evidence else []
    if not rows or not all(isinstance(r, dict) for r in rows):
        return {"evidence_rows": [], "evidence_keys": []}
    keys = list(dict.fromkeys(k for r in rows for k in r))
    flat = [
        {k: v if not isinstance(v, dict | list) else orjson.dumps(v).decode() for k, v in r.items()}
        for r in rows
    ]
    return {"evidence_rows": flat, "evidence_keys": keys}


def _action_form(form: FormData) -> dict[str, Any]:
    action = str(form.get("action", ""))
    if action not in MOVES:
        raise PageError(400, "error.title", "action: unknown")
    version = str(form.get("version", ""))
    return {
        "action": action,
        "agencies": [str(a) for a in form.getlist("agencies")][:20],
        "resolution": str(form.get("resolution", "")) or None,
        "note": str(form.get("note", "")).strip()[:2000] or None,
        "version": int(version) if version.isascii() and version.isdigit() else None,
    }


MUTATIONS = {
    "dispatch": """mutation ConsoleDispatch($id: ID!, $agencies: [String!]!, $note: String,
        $version: Int) { dispatchWarning(id: $id, agencies: $agencies, note: $note,
        version: $version) { id status } }""",
    "acknowledge": """mutation ConsoleAcknowledge($id: ID!, $note: String, $version: Int) {
        acknowledgeWarning(id: $id, note: $note, version: $version) { id status } }""",
    "resolve": """mutation ConsoleResolve($id: ID!, $resolution: Resolution!, $note: String!,
        $version: Int) { resolveWarning(id: $id, resolution: $resolution, note: $note,
        version: $version) { id status } }""",
    "escalate": """mutation ConsoleEscalate($id: ID!, $note: String, $version: Int) {
        escalateWarning(id: $id, note: $note, version: $version) { id status } }""",
}


def _variables(warning_id: str, chosen: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = {"id": warning_id, "version": chosen["version"]}
    action = chosen["action"]
    if action == "dispatch":
        if not chosen["agencies"]:
            raise PageError(400, "error.title", "agencies: name at least one agency")
        variables["agencies"] = chosen["agencies"]
    if action == "resolve":
        if chosen["resolution"] not in {r.value for r in Resolution}:
            raise PageError(400, "error.title", "resolution: choose one")
        if not chosen["note"]:
            raise PageError(400, "error.title", "note: say what was done (or why nothing was)")
        variables["resolution"] = chosen["resolution"]
    variables["note"] = chosen["note"]
    return variables


@page
async def act(request: Request, me: Me) -> Response:
    """Two steps: `review` shows what will happen and asks to confirm; `confirm` does it."""
    warning_id = path_id(request.path_params["id"])
    form = await request.form()
    chosen = _action_form(form)
    variables = _variables(warning_id, chosen)
    if form.get("step") != "confirm":
        warning = await _warning(request, me, warning_id)
        found = await choices(request, me)
        language = language_of(request)
        return render(
            request,
            "confirm.html",
            {
                "me": me,
                "section": "queue",
                "w": warning,
                "chosen": chosen,
                "agency_names": agency_names(found, language),
            },
        )
    await ask(request, me, MUTATIONS[chosen["action"]], variables)
    return RedirectResponse(
        f"/console/warnings/{warning_id}?{urlencode({'done': chosen['action']})}",
        status_code=303,
    )
