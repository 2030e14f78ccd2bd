"""A household's page: its members, its category history with each decision's rule-by-rule
reasons, the assistance it received, what agencies observed, its warnings and visits; and the
re-assessment of its category (confirmed, then carried out and audited by `assessHousehold`).

Every list is the newest `LIST_SIZE` items: a household's page stays fast on a province's
database. What the person may see is their schema view's: sections the view lacks say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.console.queue import agency_names, choices
from gateway.console.rendering import language_of, render
from gateway.console.web import Me, PageError, ask, page, path_id
from gateway.domain.enums import Category

LIST_SIZE = 50

# How each field of an event's details (gateway/pushes/items.py, one model per kind) is shown:
# money, a number, an area, yes/no, text, or `term:<group>` for an enumeration.
DETAIL_FORMS: dict[str, str] = {
    "out_of_pocket": "money",
    "total_cost": "money",
    "fees": "money",
    "monthly_wage": "money",
    "value": "money",
    "amount": "money",
    "loss": "money",
    "days": "number",
    "disability_grade": "number",
    "area": "area",
    "residential": "bool",
    "illness": "term:illness",
    "disability_type": "term:disability",
    "stage": "term:stage",
    "property_kind": "term:property",
    "cause": "term:cause",
    "diagnosis": "text",
    "entity_credit_code": "text",
    "region_code": "text",
}


@dataclass(frozen=True, slots=True)
class Fact:
    """One field of an event's details, ready to show: its label key (None: show `name`)."""

    name: str
    label_key: str | None
    value: Any
    form: str


def _connection(name: str, selection: str, arguments: str = "") -> str:
    return (
        f"{name}(first: {LIST_SIZE}{arguments}) "
        f"{{ nodes {{ {selection} }} pageInfo {{ hasNextPage }} }}"
    )


def _household_query(me: Me) -> str:
    """The page's one query, holding only what the person's view has."""
    person = me.fields(
        "Person",
        "name",
        "idNumber",
        "age",
        "laborCapacity",
        "disabilityType",
        "disabilityGrade",
        "illness",
        "deceasedOn",
    )
    member = me.fields("Member", "relation", "joinedOn", "leftOn", f"person {{ {person} }}")
    determination = me.fields(
        "Determination",
        "category",
        "channel",
        "decidedOn",
        "decidedBy",
        "validFrom",
        "validUntil",
        "reasons",
        "standards",
    )
    record = me.fields(
        "AssistanceRecord",
        "agency",
        "agencyRecordId",
        "kind",
        "amount",
        "periodStart",
        "periodEnd",
        "idNumber",
        "notes",
    )
    event = me.fields("MonitoringEvent", "kind", "agency", "occurredOn", "idNumber", "details")
    warning = me.fields("Warning", "id", "kind", "severity", "status", "dueOn", "overdue")
    visit = me.fields("Visit", "visitedOn", "visitor", "reason", "findings")
    household = me.fields(
        "Household",
        "id",
        "code",
        "address",
        "phone",
        "category",
        "status",
        "validFrom",
        "validUntil",
        "nextReviewOn",
        "region { name }",
        _connection("members", member, ", includeFormer: true"),
        _connection("determinations", determination),
        _connection("assistanceRecords", record),
        _connection("events", event),
        _connection("warnings", warning),
        _connection("visits", visit),
    )
    return f"query ConsoleHousehold($id: ID!) {{ household(id: $id) {{ {household} }} }}"


SUMMARY = """query ConsoleHouseholdSummary($id: ID!) {
  household(id: $id) { id code category status nextReviewOn region { name } }
}"""

ASSESS = """mutation ConsoleAssess($id: ID!) {
  assessHousehold(householdId: $id) { category decidedOn }
}"""


async def _household(request: Request, me: Me, query: str, household_id: str) -> dict[str, Any]:
    """The household, or the same 404 whether it does not exist or is not the person's to see."""
    data = await ask(request, me, query, {"id": household_id})
    household = data["household"]
    if household is None:
        raise PageError(404, "error.not_found")
    result: dict[str, Any] = household
    return result


def _nodes(household: dict[str, Any], name: str) -> tuple[list[dict[str, Any]], bool] | None:
    """A list's items and whether there are more than shown; None when the view lacks it."""
    connection = household.get(name)
    if connection is None:
        return None
    return connection["nodes"], connection["pageInfo"]["hasNextPage"]


def _reasons(raw: Any) -> list[dict[str, Any]]:
    """A determination's reasons (gateway/domain/rules/outcome.py: rule, passed, detail)."""
    if not isinstance(raw, list):
        return []
    out = []
    for item in raw:
        if isinstance(item, dict):
            passed = item.get("passed")
            out.append(
                {
                    "rule": str(item.get("rule", "—")),
                    "passed": passed if isinstance(passed, bool) else None,
                    "detail": str(item.get("detail", "")),
                }
            )
        else:
            out.append({"rule": "—", "passed": None, "detail": str(item)})
    return out


def _standards(raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, dict):
        return []
    return sorted((str(name), str(value)) for name, value in raw.items())


def _is_amount(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    try:
        return Decimal(str(value)).is_finite()
    except InvalidOperation:
        return False


def _facts(details: Any) -> list[Fact]:
    """An event's details, field by field, in the form each is shown."""
    if not isinstance(details, dict):
        return []
    out = []
    for name, value in details.items():
        if value is None:
            continue
        form = DETAIL_FORMS.get(name, "text")
        if form in ("money", "area") and not _is_amount(value):
            form = "text"
        if form == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
            form = "text"
        if form == "bool" and not isinstance(value, bool):
            form = "text"
        if form == "text" and not isinstance(value, str | int | float):
            value = str(value)
        label = f"detail.{name}" if name in DETAIL_FORMS else None
        out.append(Fact(name, label, value, form))
    return out


def _names(members: list[dict[str, Any]]) -> dict[str, str]:
    """Members' names by ID number (masked or not, as the view gives both), for the records
    and events that name a member: only ID numbers that name one member."""
    seen: dict[str, list[str]] = {}
    for member in members:
        person = member.get("person", {})
        if "idNumber" in person and "name" in person:
            seen.setdefault(person["idNumber"], []).append(person["name"])
    return {number: names[0] for number, names in seen.items() if len(names) == 1}


def _newest_first(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: str(item.get(key) or ""), reverse=True)


def _sections(household: dict[str, Any]) -> dict[str, Any]:
    """The lists the page shows, newest first, each None when the view lacks it."""
    members = _nodes(household, "members")
    determinations = _nodes(household, "determinations")
    records = _nodes(household, "assistanceRecords")
    events = _nodes(household, "events")
    warnings = _nodes(household, "warnings")
    visits = _nodes(household, "visits")
    shown: dict[str, Any] = {}
    if members is not None:
        # Current members first, then those who left.
        current = sorted(members[0], key=lambda m: m.get("leftOn") is not None)
        shown["members"] = (current, members[1])
    if determinations is not None:
        decided = [
            {
                **d,
                "reasons": _reasons(d["reasons"]) if "reasons" in d else None,
                "standards": _standards(d.get("standards")),
            }
            for d in _newest_first(determinations[0], "decidedOn")
        ]
        shown["determinations"] = (decided, determinations[1])
    if records is not None:
        shown["assistance"] = (_newest_first(records[0], "periodStart"), records[1])
    if events is not None:
        observed = [
            {**e, "facts": _facts(e["details"]) if "details" in e else None}
            for e in _newest_first(events[0], "occurredOn")
        ]
        shown["events"] = (observed, events[1])
    if warnings is not None:
        shown["warnings"] = warnings
    if visits is not None:
        shown["visits"] = (_newest_first(visits[0], "visitedOn"), visits[1])
    shown["names"] = _names(members[0] if members else [])
    return shown


def _reassessed(value: str | None) -> str | None:
    """The new category named by the redirect after a re-assessment (only a known one)."""
    return value if value in {c.value for c in Category} else None


@page
async def household_page(request: Request, me: Me) -> Response:
    household_id = path_id(request.path_params["id"])
    household = await _household(request, me, _household_query(me), household_id)
    found = await choices(request, me)
    return render(
        request,
        "household.html",
        {
            "me": me,
            "section": "queue",
            "h": household,
            **_sections(household),
            "list_size": LIST_SIZE,
            "agency_names": agency_names(found, language_of(request)),
            "can_reassess": me.sees("Mutation", "assessHousehold"),
            "reassessed": _reassessed(request.query_params.get("reassessed")),
        },
    )


@page
async def reassess(request: Request, me: Me) -> Response:
    """Two steps: `review` shows the household and asks to confirm; `confirm` re-assesses it
    today and goes back to the household's page, which names the new category."""
    household_id = path_id(request.path_params["id"])
    if not me.sees("Mutation", "assessHousehold"):
        raise PageError(403, "error.forbidden")
    # Asked first in both steps: a household the person may not see is not found, whichever
    # step is posted (the mutation alone would say the same, but also for the cases below).
    household = await _household(request, me, SUMMARY, household_id)
    form = await request.form()
    if form.get("step") != "confirm":
        return render(
            request,
            "reassess_confirm.html",
            {"me": me, "section": "queue", "h": household, "today": date.today()},
        )
    try:
        data = await ask(request, me, ASSESS, {"id": household_id})
    except PageError as error:
        if error.status == 404:
            # The household is the person's to see: what is missing is what to assess from.
            raise PageError(409, "household.cannot_assess") from error
        raise
    category = data["assessHousehold"]["category"]
    return RedirectResponse(
        f"/console/households/{household_id}?{urlencode({'reassessed': category})}",
        status_code=303,
    )
