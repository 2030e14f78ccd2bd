"""The comparison rules (数据比对): pure functions from one household's facts to findings.

Each rule is named (a stable dotted id, which is also the `finding` of the warnings it opens),
cites the policy clause it implements, and says which kind of warning it raises. A rule answers
at most one finding per household; the finding lists its evidence (the events and records that
show it) and the people it names. Routing (who acts, by when) is data, applied afterwards
(routing.py); opening, joining and clearing warnings is compare.py's.

Policy clauses cited (the seeds in ../shared/seeds):
- QA-MONITOR: jiangsu-qa-2021, "对低收入人口动态监测的重点内容" — for households receiving
  assistance, whether every policy is delivered and whether they have other difficulties; for
  those not receiving it, whether they now qualify.
- QA-WARNING: jiangsu-qa-2021, "对低收入人口的预警信息如何处置" — the four kinds of warning and
  who acts on each.
- QA-EXCLUSION: jiangsu-qa-2021, the property exclusions of 低保边缘家庭 and 支出型困难家庭
  (cars, property, capital), as implemented in gateway/domain/rules/assets.py.
- PLAN-3-3: qidong-implementation-plan-2021 三(三), dynamic monitoring incl. former registered
  poor households not recognised.
- QA-REVIEW: jiangsu-qa-2021, 低保边缘家庭和支出型困难家庭每年复核一次.
- QA-LEGACY: jiangsu-qa-2021, the transition of the former 低收入家庭 (at most 3 years).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from gateway.domain.enums import (
    RUNNING,
    AssistanceKind,
    Category,
    EventKind,
    HardshipType,
    HouseholdStatus,
    LossCause,
    WarningKind,
)
from gateway.domain.rules import Assets, HouseholdCase, Standards, assess
from gateway.domain.rules.assets import EXPENDITURE_ASSETS, MARGINAL_ASSETS
from gateway.domain.rules.evaluation import Evaluation
from gateway.errors import MissingStandard

# ---- What the rules look at ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberFacts:
    person_id: int
    id_number: str
    deceased_on: date | None


@dataclass(frozen=True, slots=True)
class EventFacts:
    id: int
    kind: EventKind
    person_id: int | None
    occurred_on: date
    details: Mapping[str, Any]

    def amount(self, name: str) -> Decimal:
        value = self.details.get(name)
        return Decimal(str(value)) if value is not None else Decimal(0)


@dataclass(frozen=True, slots=True)
class RecordFacts:
    id: int
    kind: AssistanceKind
    person_id: int | None  # None: for the whole household
    period_start: date
    period_end: date | None


@dataclass(frozen=True, slots=True)
class HouseholdFacts:
    id: int
    region_code: str
    category: Category
    status: HouseholdStatus
    former_registered_poor: bool
    valid_until: date | None
    next_review_on: date | None
    members: tuple[MemberFacts, ...]  # current members, the deceased among them
    events: tuple[EventFacts, ...]  # current revisions, within the look-back
    records: tuple[RecordFacts, ...]  # current revisions of assistance records
    # The rules' case from the latest recorded situation (living members), and its date.
    case: HouseholdCase | None
    situation_on: date | None
    authorised: bool  # a valid verification authorisation on the day
    standards: Standards | None

    @property
    def covered(self) -> bool:
        return self.category is not Category.NONE and self.status in RUNNING


@dataclass(frozen=True, slots=True)
class Params:
    as_of: date
    # Days an agency has to record the assistance an event calls for before it is "not
    # delivered" (LIG_COMPARE_GRACE_DAYS).
    grace_days: int = 30
    # How far back events count (hardship costs over the last 12 months).
    lookback_days: int = 365
    # How long before a yearly review or the end of a transition civil affairs is told.
    notice_days: int = 30
    # "Heavy" costs: per member, at least this many times a year of the dibao standard.
    heavy_cost_factor: Decimal = Decimal(1)

    @property
    def since(self) -> date:
        return self.as_of - timedelta(days=self.lookback_days)

    @property
    def due_by(self) -> date:
        """Events on or before this day have had their grace period."""
        return self.as_of - timedelta(days=self.grace_days)


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    kind: WarningKind
    hardship: HardshipType | None
    subjects: tuple[int, ...]  # person ids named
    evidence: tuple[dict[str, Any], ...]  # each with a unique "key"


@dataclass(frozen=True, slots=True)
class ComparisonRule:
    id: str
    kind: WarningKind
    hardship: HardshipType | None
    clause: str
    summary: str
    # Compares the household's economic data: runs only under a valid authorisation.
    needs_authorisation: bool
    check: Callable[[HouseholdFacts, Params], Finding | None] = field(repr=False)


# ---- Helpers ------------------------------------------------------------------------------------


def _event(e: EventFacts, **extra: Any) -> dict[str, Any]:
    return {
        "key": f"event:{e.id}",
        "event_id": e.id,
        "event": e.kind.value,
        "person_id": e.person_id,
        "occurred_on": e.occurred_on.isoformat(),
        **extra,
    }


def _events(facts: HouseholdFacts, params: Params, *kinds: EventKind) -> list[EventFacts]:
    return [
        e for e in facts.events if e.kind in kinds and params.since <= e.occurred_on <= params.as_of
    ]


def _delivered(
    facts: HouseholdFacts, kinds: frozenset[AssistanceKind], person: int | None, since: date
) -> bool:
    """A record of one of `kinds` for the person (or the household) running on or after `since`."""
    return any(
        r.kind in kinds
        and (r.person_id is None or r.person_id == person)
        and (r.period_end is None or r.period_end >= since)
        for r in facts.records
    )


def _finding(rule: ComparisonRule, events: Sequence[EventFacts], **extra: Any) -> Finding | None:
    if not events:
        return None
    ordered = sorted(events, key=lambda e: (e.occurred_on, e.id))
    subjects = tuple(sorted({e.person_id for e in ordered if e.person_id is not None}))
    return Finding(
        rule.id,
        rule.kind,
        rule.hardship,
        subjects,
        tuple(_event(e, **extra) for e in ordered),
    )


# ---- Policy not delivered (covered households) -------------------------------------------------


def _not_delivered(
    rule_id: str, event_kinds: tuple[EventKind, ...], assistance: frozenset[AssistanceKind]
) -> Callable[[HouseholdFacts, Params], Finding | None]:
    def check(facts: HouseholdFacts, params: Params) -> Finding | None:
        if not facts.covered:
            return None
        waiting = [
            e
            for e in _events(facts, params, *event_kinds)
            if e.occurred_on <= params.due_by
            and not _delivered(facts, assistance, e.person_id, e.occurred_on)
            and _still_relevant(facts, e)
        ]
        return _finding(RULES_BY_ID[rule_id], waiting)

    return check


def _still_relevant(facts: HouseholdFacts, event: EventFacts) -> bool:
    """An unemployment registration is over once the person started work after it."""
    if event.kind is not EventKind.UNEMPLOYMENT_REGISTERED:
        return event.kind is not EventKind.HOSPITAL_SETTLEMENT or event.amount("out_of_pocket") > 0
    return not any(
        e.kind is EventKind.EMPLOYMENT_STARTED
        and e.person_id == event.person_id
        and e.occurred_on >= event.occurred_on
        for e in facts.events
    )


# ---- Deaths -------------------------------------------------------------------------------------


def _deaths(facts: HouseholdFacts, params: Params) -> dict[int, tuple[date, int | None]]:
    """Members who died on or before the day: person id → (date, the reporting event's id)."""
    died: dict[int, tuple[date, int | None]] = {
        m.person_id: (m.deceased_on, None)
        for m in facts.members
        if m.deceased_on is not None and m.deceased_on <= params.as_of
    }
    members = {m.person_id for m in facts.members}
    for e in facts.events:
        if (
            e.kind is EventKind.DECEASED
            and e.person_id in members
            and e.occurred_on <= params.as_of
        ):
            assert e.person_id is not None
            known = died.get(e.person_id)
            if known is None or known[1] is None:
                died[e.person_id] = (known[0] if known else e.occurred_on, e.id)
    return died


def _death_evidence(
    died: Mapping[int, tuple[date, int | None]], **extra: Any
) -> list[dict[str, Any]]:
    return [
        {
            "key": f"death:{person}",
            "person_id": person,
            "deceased_on": on.isoformat(),
            "event_id": event,
            **extra,
        }
        for person, (on, event) in sorted(died.items())
    ]


def _household_ended(facts: HouseholdFacts, params: Params) -> Finding | None:
    if not facts.covered or not facts.members:
        return None
    died = _deaths(facts, params)
    if len(died) < len(facts.members):
        return None
    rule = RULES_BY_ID["death.household_ended"]
    return Finding(
        rule.id, rule.kind, rule.hardship, tuple(sorted(died)), tuple(_death_evidence(died))
    )


def _reassessment(facts: HouseholdFacts, params: Params) -> Finding | None:
    if not facts.covered:
        return None
    died = _deaths(facts, params)
    if not died or len(died) == len(facts.members):
        return None  # nobody died, or nobody is left (death.household_ended)
    rule = RULES_BY_ID["death.reassessment"]
    outcome: dict[str, Any]
    if facts.case is None or facts.standards is None:
        outcome = {"assessed": None, "why": "no economic situation recorded to re-assess from"}
    else:
        # The case holds the living members only; re-determined afresh (a DIBAO or TEKUN
        # household is not carried: its per-capita income changed), LEGACY within its transition.
        carried = (
            Category.LEGACY_LOW_INCOME
            if facts.category is Category.LEGACY_LOW_INCOME
            else Category.NONE
        )
        # Deaths known only from an event are not on the person yet: leave them out too.
        dead = {m.id_number for m in facts.members if m.person_id in died}
        living = tuple(m for m in facts.case.members if m.id_number not in dead)
        case = replace(facts.case, as_of=params.as_of, current_category=carried, members=living)
        try:
            assessed = assess(case, facts.standards).category
        except MissingStandard as missing:
            outcome = {"assessed": None, "why": missing.message}
        else:
            if assessed is facts.category:
                return None
            outcome = {"assessed": assessed.value, "category": facts.category.value}
    return Finding(
        rule.id,
        rule.kind,
        rule.hardship,
        tuple(sorted(died)),
        tuple(_death_evidence(died, **outcome)),
    )


# ---- Assets (NO_LONGER_ELIGIBLE) ----------------------------------------------------------------


def _with_event(assets: Assets, e: EventFacts) -> Assets:
    if e.kind is EventKind.VEHICLE_REGISTERED:
        return replace(assets, cars=(*assets.cars, e.amount("value")))
    if e.kind is EventKind.PROPERTY_REGISTERED:
        if e.details.get("residential"):
            return replace(
                assets, homes=assets.homes + 1, floor_area=assets.floor_area + e.amount("area")
            )
        return replace(assets, non_residential_acquired=True)
    if e.kind is EventKind.CAPITAL_SUBSCRIBED:
        return replace(assets, subscribed_capital=assets.subscribed_capital + e.amount("amount"))
    return assets


# Which of the category's asset rules an event kind can break.
ASSET_RULES: dict[EventKind, tuple[str, ...]] = {
    EventKind.VEHICLE_REGISTERED: ("assets.cars.",),
    EventKind.PROPERTY_REGISTERED: ("assets.housing.", "assets.non_residential."),
    EventKind.CAPITAL_SUBSCRIBED: ("assets.capital.",),
}


def _assets(rule_id: str, kind: EventKind) -> Callable[[HouseholdFacts, Params], Finding | None]:
    def check(facts: HouseholdFacts, params: Params) -> Finding | None:
        if not facts.covered or facts.case is None or facts.standards is None:
            return None
        category_rules = (
            EXPENDITURE_ASSETS if facts.category is Category.EXPENDITURE else MARGINAL_ASSETS
        )
        rules = [r for r in category_rules if r.id.startswith(ASSET_RULES[kind])]
        # Events since the recorded situation are not in it yet; older ones are.
        new = sorted(
            (
                e
                for e in _events(facts, params, kind)
                if facts.situation_on is None or e.occurred_on > facts.situation_on
            ),
            key=lambda e: (e.occurred_on, e.id),
        )
        assets = facts.case.assets
        for e in new:
            assets = _with_event(assets, e)
        ev = Evaluation(replace(facts.case, assets=assets), facts.standards)
        # A figure that can decide and is not set raises MissingStandard: compare() reports it.
        broken = [ev.reasons[r.id].detail for r in rules if not ev.run(r)]
        if not broken:
            return None
        rule = RULES_BY_ID[rule_id]
        if new:
            return _finding(rule, new, breaks="; ".join(broken))
        # The recorded situation itself breaks the rule (a verification found the asset):
        # the warning stands until the assistance ends or a later situation is within it.
        assert facts.situation_on is not None
        on = facts.situation_on.isoformat()
        evidence = {"key": f"situation:{on}", "recorded_on": on, "breaks": "; ".join(broken)}
        return Finding(rule.id, rule.kind, rule.hardship, (), (evidence,))

    return check


# ---- Not covered, special hardship --------------------------------------------------------------

# Hardship costs by type: (event kinds, the detail that holds the amount, a cause if any).
COSTS: dict[HardshipType, tuple[tuple[EventKind, ...], str, LossCause | None]] = {
    HardshipType.MEDICAL: (
        (EventKind.HOSPITAL_SETTLEMENT, EventKind.OUTPATIENT_SETTLEMENT),
        "out_of_pocket",
        None,
    ),
    HardshipType.EDUCATION: ((EventKind.SCHOOL_ENROLMENT,), "fees", None),
    HardshipType.DISASTER: ((EventKind.DISASTER_LOSS,), "amount", LossCause.NATURAL_DISASTER),
    HardshipType.ACCIDENT: ((EventKind.DISASTER_LOSS,), "amount", LossCause.ACCIDENT),
}
# Events that show hardship in a former registered poor household (PLAN-3-3), by type.
HARDSHIP_EVENTS: dict[EventKind, HardshipType] = {
    EventKind.HOSPITAL_SETTLEMENT: HardshipType.MEDICAL,
    EventKind.ILLNESS_CERTIFIED: HardshipType.MEDICAL,
    EventKind.DISABILITY_CERTIFIED: HardshipType.DISABILITY,
    EventKind.UNEMPLOYMENT_REGISTERED: HardshipType.EMPLOYMENT,
    EventKind.DISASTER_LOSS: HardshipType.DISASTER,
    EventKind.FIRE_INCIDENT: HardshipType.FIRE,
}
RELIEF = frozenset({AssistanceKind.DISASTER_RELIEF, AssistanceKind.TEMPORARY})


def _cost_events(facts: HouseholdFacts, params: Params, hardship: HardshipType) -> list[EventFacts]:
    kinds, _, cause = COSTS[hardship]
    return [
        e
        for e in _events(facts, params, *kinds)
        if cause is None or e.details.get("cause") == cause.value
    ]


def _heavy_limit(facts: HouseholdFacts, params: Params) -> Decimal | None:
    """Costs at or above this (household total over the look-back) are heavy."""
    dibao = facts.standards.dibao_monthly if facts.standards is not None else None
    if dibao is None:
        return None
    living = max(1, sum(1 for m in facts.members if m.deceased_on is None) or 1)
    return params.heavy_cost_factor * 12 * dibao * living


def _outside(facts: HouseholdFacts) -> bool:
    """Outside every category: nothing running (an application under way still counts)."""
    return not facts.covered


def _not_covered(hardship: HardshipType) -> Callable[[HouseholdFacts, Params], Finding | None]:
    def check(facts: HouseholdFacts, params: Params) -> Finding | None:
        if not _outside(facts):
            return None
        limit = _heavy_limit(facts, params)
        if limit is None:
            return None
        events = _cost_events(facts, params, hardship)
        _, detail, _ = COSTS[hardship]
        total = sum((e.amount(detail) for e in events), Decimal(0))
        if not events or total < limit:
            return None
        return _finding(
            RULES_BY_ID[f"not_covered.{hardship.value.lower()}"],
            events,
            total=f"{total:.2f}",
            heavy_from=f"{limit:.2f}",
        )

    return check


def _heavy_types(facts: HouseholdFacts, params: Params) -> set[HardshipType]:
    return {h for h in COSTS if _not_covered(h)(facts, params) is not None}


def _former_poor(facts: HouseholdFacts, params: Params) -> Finding | None:
    if not _outside(facts) or not facts.former_registered_poor:
        return None
    events = [e for e in _events(facts, params, *HARDSHIP_EVENTS)]
    if not events or _heavy_types(facts, params):
        return None  # nothing to show, or a heavy-cost finding already says it
    latest = max(events, key=lambda e: (e.occurred_on, e.id))
    rule = RULES_BY_ID["not_covered.former_poor"]
    found = _finding(rule, events)
    assert found is not None
    return replace(found, hardship=HARDSHIP_EVENTS[latest.kind])


def _special(facts: HouseholdFacts, params: Params) -> Finding | None:
    heavy = _heavy_types(facts, params) if _outside(facts) else set()
    losses = [
        e
        for e in _events(facts, params, EventKind.FIRE_INCIDENT, EventKind.DISASTER_LOSS)
        if e.occurred_on <= params.due_by
        and not _delivered(facts, RELIEF, e.person_id, e.occurred_on)
        # A heavy disaster or accident cost outside assistance has a policy: an application.
        and not (
            e.kind is EventKind.DISASTER_LOSS
            and (HardshipType.DISASTER in heavy or HardshipType.ACCIDENT in heavy)
        )
    ]
    found = _finding(RULES_BY_ID["special.loss_without_policy"], losses)
    if found is None:
        return None
    fire = any(e.kind is EventKind.FIRE_INCIDENT for e in losses)
    return replace(found, hardship=HardshipType.FIRE if fire else HardshipType.DISASTER)


# ---- Reviews and transitions --------------------------------------------------------------------

YEARLY = frozenset({Category.MARGINAL, Category.EXPENDITURE})


def _review_due(facts: HouseholdFacts, params: Params) -> Finding | None:
    if not facts.covered or facts.category not in YEARLY or facts.next_review_on is None:
        return None
    if facts.next_review_on > params.as_of + timedelta(days=params.notice_days):
        return None
    rule = RULES_BY_ID["review.due"]
    on = facts.next_review_on.isoformat()
    evidence = {"key": f"review:{on}", "next_review_on": on}
    return Finding(rule.id, rule.kind, rule.hardship, (), (evidence,))


def _legacy_ending(facts: HouseholdFacts, params: Params) -> Finding | None:
    if not facts.covered or facts.category is not Category.LEGACY_LOW_INCOME:
        return None
    end = facts.valid_until
    if end is None and facts.standards is not None:
        end = facts.standards.legacy_transition_end
    if end is None or end > params.as_of + timedelta(days=params.notice_days):
        return None
    rule = RULES_BY_ID["transition.legacy_ending"]
    evidence = {"key": f"transition:{end.isoformat()}", "transition_ends": end.isoformat()}
    return Finding(rule.id, rule.kind, rule.hardship, (), (evidence,))


# ---- The rules ----------------------------------------------------------------------------------

_NLE = WarningKind.NO_LONGER_ELIGIBLE
_PND = WarningKind.POLICY_NOT_DELIVERED
_NC = WarningKind.NOT_COVERED

RULES: tuple[ComparisonRule, ...] = (
    ComparisonRule(
        "death.reassessment",
        _NLE,
        None,
        "QA-MONITOR; QA-WARNING (不再符合救助条件的, 及时核实情况)",
        "A member of a covered household died: the household is re-assessed with the living "
        "members; a different category (or none) is for civil affairs to verify.",
        False,
        _reassessment,
    ),
    ComparisonRule(
        "death.household_ended",
        _NLE,
        None,
        "QA-WARNING (不再符合救助条件的, 及时核实情况, 并终止救助)",
        "Every member of a covered household has died: its assistance is to be ended.",
        False,
        _household_ended,
    ),
    ComparisonRule(
        "assets.vehicle",
        _NLE,
        None,
        "QA-EXCLUSION (车辆); QA-WARNING",
        "A vehicle registered since the recorded situation breaks the household's car rule.",
        True,
        _assets("assets.vehicle", EventKind.VEHICLE_REGISTERED),
    ),
    ComparisonRule(
        "assets.property",
        _NLE,
        None,
        "QA-EXCLUSION (房产, 非居住类房屋); QA-WARNING",
        "A property registered since the recorded situation breaks the housing or "
        "non-residential property rule.",
        True,
        _assets("assets.property", EventKind.PROPERTY_REGISTERED),
    ),
    ComparisonRule(
        "assets.capital",
        _NLE,
        None,
        "QA-EXCLUSION (认缴出资额 20万元以上); QA-WARNING",
        "Capital subscribed since the recorded situation reaches the 200,000 yuan limit.",
        True,
        _assets("assets.capital", EventKind.CAPITAL_SUBSCRIBED),
    ),
    ComparisonRule(
        "policy.medical",
        _PND,
        HardshipType.MEDICAL,
        "QA-MONITOR (医疗救助是否落实到位); QA-WARNING (政策落实不到位的, 尽快落实)",
        "A hospital stay with out-of-pocket costs in a covered household, and no medical "
        "assistance recorded for the patient within the grace days.",
        False,
        _not_delivered(
            "policy.medical",
            (EventKind.HOSPITAL_SETTLEMENT,),
            frozenset({AssistanceKind.MEDICAL}),
        ),
    ),
    ComparisonRule(
        "policy.education",
        _PND,
        HardshipType.EDUCATION,
        "QA-MONITOR (教育救助是否落实到位); QA-WARNING",
        "A child of a covered household enrolled in school, and no education assistance "
        "recorded for the child within the grace days.",
        False,
        _not_delivered(
            "policy.education",
            (EventKind.SCHOOL_ENROLMENT,),
            frozenset({AssistanceKind.EDUCATION}),
        ),
    ),
    ComparisonRule(
        "policy.disability",
        _PND,
        HardshipType.DISABILITY,
        "QA-MONITOR (是否存在其他方面的生活困难); QA-WARNING",
        "A disability certified in a covered household, and no disability subsidy recorded for "
        "the person within the grace days.",
        False,
        _not_delivered(
            "policy.disability",
            (EventKind.DISABILITY_CERTIFIED,),
            frozenset({AssistanceKind.DISABILITY_SUBSIDY}),
        ),
    ),
    ComparisonRule(
        "policy.employment",
        _PND,
        HardshipType.EMPLOYMENT,
        "QA-MONITOR (就业救助是否落实到位); QA-WARNING",
        "Unemployment registered in a covered household, and neither employment assistance nor "
        "a new job recorded within the grace days.",
        False,
        _not_delivered(
            "policy.employment",
            (EventKind.UNEMPLOYMENT_REGISTERED,),
            frozenset({AssistanceKind.EMPLOYMENT}),
        ),
    ),
    *(
        ComparisonRule(
            f"not_covered.{hardship.value.lower()}",
            _NC,
            hardship,
            "QA-MONITOR (未纳入的, 重点监测是否符合救助条件); QA-WARNING (分类推送)",
            f"A household outside every category with heavy {hardship.value.lower()} costs "
            "over the look-back (per member at least a year of the dibao standard): an "
            "application is started and the matching department told.",
            False,
            _not_covered(hardship),
        )
        for hardship in COSTS
    ),
    ComparisonRule(
        "not_covered.former_poor",
        _NC,
        None,
        "PLAN-3-3 (未纳入低收入人口的原农村建档立卡低收入人口); QA-WARNING",
        "A former registered poor household outside every category shows hardship events "
        "(illness, disability, unemployment, disaster, fire): an application is started.",
        False,
        _former_poor,
    ),
    ComparisonRule(
        "special.loss_without_policy",
        WarningKind.SPECIAL_HARDSHIP,
        None,
        "QA-WARNING (特殊困难情形且缺乏相应救助政策的, 启动县级协调机制, 个案研究解决)",
        "A fire or disaster loss with no relief or temporary assistance recorded within the "
        "grace days and no application path: for the county coordination mechanism.",
        False,
        _special,
    ),
    ComparisonRule(
        "review.due",
        _NLE,
        HardshipType.REVIEW,
        "QA-REVIEW (每年复核一次)",
        "The yearly review of a MARGINAL or EXPENDITURE household falls due within the notice "
        "days (or is past).",
        False,
        _review_due,
    ),
    ComparisonRule(
        "transition.legacy_ending",
        _NLE,
        HardshipType.TRANSITION,
        "QA-LEGACY (过渡期最长不超过3年)",
        "The transition of a LEGACY_LOW_INCOME household ends within the notice days (or has "
        "ended): it is to be re-determined.",
        False,
        _legacy_ending,
    ),
)
RULES_BY_ID: dict[str, ComparisonRule] = {r.id: r for r in RULES}


@dataclass(frozen=True, slots=True)
class Comparison:
    findings: tuple[Finding, ...]
    evaluated: frozenset[str]  # the rules that ran (a finding not among them is not cleared)
    # Why some rules did not run: "NO_AUTHORISATION", "MISSING_STANDARD:standards.<figure>".
    skipped: tuple[str, ...] = ()


def compare(facts: HouseholdFacts, params: Params) -> Comparison:
    """Every rule on one household."""
    findings: list[Finding] = []
    evaluated: set[str] = set()
    skipped: list[str] = []
    for rule in RULES:
        if rule.needs_authorisation and not facts.authorised:
            # Counted where it matters: the economic rules look only at covered households.
            if facts.covered and "NO_AUTHORISATION" not in skipped:
                skipped.append("NO_AUTHORISATION")
            continue
        try:
            found = rule.check(facts, params)
        except MissingStandard as missing:
            # Not evaluated, so nothing it found before is cleared; the run counts why.
            skipped.append(f"MISSING_STANDARD:{missing.field}")
            continue
        evaluated.add(rule.id)
        if found is not None:
            findings.append(found)
    return Comparison(tuple(findings), frozenset(evaluated), tuple(skipped))
