"""Applying one page of national changes in the caller's transaction, exactly once.

A change is the whole state of one entity at one version. It is applied when its version is
newer than the one last applied to that entity, and skipped otherwise (a repeated or late
change), so pages served twice or out of order change nothing. A change that meets a local edit
made since the last sync is not applied: the local row stands and the change is kept whole in
`sync_conflicts`. A change that breaks the national format is kept in `sync_rejections` with its
reasons. The page's households, people and memberships are loaded in a few statements and
written by the ORM in one flush or two, so the household history (household_versions) records
every state the sync writes, marked `national-sync`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.national.wire import (
    DATA_MODELS,
    CategoryData,
    Change,
    HouseholdData,
    PersonData,
)
from gateway.domain.enums import (
    Category,
    Channel,
    ConflictStatus,
    HouseholdStatus,
    LaborCapacity,
    Relation,
    SyncEntity,
)
from gateway.errors import LigError
from gateway.models import (
    Determination,
    Household,
    Membership,
    Person,
    SyncConflict,
    SyncRejection,
)
from gateway.models.base import utcnow
from gateway.monitoring import queue as comparison_queue

SYNC_USER = "national-sync"
_HOUSEHOLD_GROUPS = (SyncEntity.HOUSEHOLD, SyncEntity.CATEGORY)
# The field a change could not be placed by (its household is unknown, its code taken).
_UNPLACED_FIELD = {
    SyncEntity.HOUSEHOLD: "data.household_code",
    SyncEntity.CATEGORY: "national_id",
    SyncEntity.PERSON: "data.household_id",
}
_HOUSEHOLD_FIELDS = ("region_code", "address", "phone", "urban_rural", "former_registered_poor")
_CATEGORY_FIELDS = ("category", "status", "channel", "valid_from", "valid_until")
_PERSON_FIELDS = (
    "name",
    "phone",
    "labor_capacity",
    "disability_type",
    "disability_grade",
    "illness",
    "deceased_on",
)


class PageRefused(LigError):
    """The page itself is unusable (a change without a readable sequence number): nothing of it
    is applied, and the sync stops rather than skip what it cannot place."""

    code = "UPSTREAM_INVALID"
    http_status = 502


@dataclass
class Counts:
    households_created: int = 0
    households_updated: int = 0
    categories_applied: int = 0
    persons_created: int = 0
    persons_updated: int = 0
    moves: int = 0
    stale: int = 0  # already applied (a repeated page, a late change)
    conflicts: int = 0
    rejected: int = 0

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def applied(self) -> int:
        return (
            self.households_created
            + self.households_updated
            + self.categories_applied
            + self.persons_created
            + self.persons_updated
        )

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"applied": self.applied}


def _touched(page: _Page) -> list[int]:
    """The households whose data this page changed: the comparison rules look at them again."""
    households = [
        h.id
        for h in page.households.values()
        if any((id(h), g) in page.written for g in _HOUSEHOLD_GROUPS)
    ]
    for person in page.persons.values():
        membership = page.memberships.get(person.id)
        if (id(person), SyncEntity.PERSON) in page.written and membership is not None:
            households.append(membership.household_id)
    households += [household.id for _, household, _ in page.joins.values()]
    return households


@dataclass
class _Typed:
    change: Change
    data: HouseholdData | PersonData | CategoryData


@dataclass
class _Page:
    """The rows a page touches, loaded up front, and what this page has done to them."""

    households: dict[str, Household] = field(default_factory=dict)  # by national id
    by_code: dict[str, Household] = field(default_factory=dict)
    persons: dict[str, Person] = field(default_factory=dict)  # by national id
    by_number: dict[str, Person] = field(default_factory=dict)
    memberships: dict[int, Membership] = field(default_factory=dict)  # current, by person id
    # (id() of a row, field group) this page wrote: a later change of the same group in the
    # page is the national system's own sequel, not a local edit.
    written: set[tuple[int, SyncEntity]] = field(default_factory=set)
    # id() of households and people with a conflict waiting (stored before, or found in this
    # page): until it is resolved, every national change to them waits as a conflict too, and
    # their synced base is not moved.
    disputed: set[int] = field(default_factory=set)
    # id() of households this page created: they have no local state to protect.
    created: set[int] = field(default_factory=set)
    # Resolving a conflict in favour of the national change: apply it over the local edit.
    force: bool = False
    # The memberships to open, by id() of the person: the latest change for each person wins.
    joins: dict[int, tuple[Person, Household, PersonData]] = field(default_factory=dict)
    determinations: list[tuple[Household, _Typed]] = field(default_factory=list)


def parse(raw: dict[str, Any]) -> tuple[_Typed | None, list[dict[str, str]]]:
    """A raw change → typed, or the reasons it cannot be applied (each naming its field)."""
    try:
        change = Change.model_validate(raw)
    except ValidationError as error:
        return None, _problems(error)
    try:
        data = DATA_MODELS[change.entity].model_validate(change.data)
    except ValidationError as error:
        return None, _problems(error, prefix="data.")
    assert isinstance(data, HouseholdData | PersonData | CategoryData)
    return _Typed(change, data), []


def _problems(error: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    return [
        {"field": prefix + ".".join(str(p) for p in e["loc"]), "reason": e["msg"]}
        for e in error.errors()[:20]
    ]


async def apply_page(
    session: AsyncSession,
    raw_changes: Iterable[dict[str, Any]],
    after: int,
    today: date,
    *,
    force: bool = False,
) -> tuple[Counts, int]:
    """Apply the changes numbered above `after`; answer the counts and the highest seq seen.
    `force` applies them over local edits (a conflict resolved in the national change's
    favour)."""
    counts = Counts()
    typed: list[_Typed] = []
    rejections: list[dict[str, Any]] = []
    highest = after
    for raw in raw_changes:
        seq = raw.get("seq") if isinstance(raw, dict) else None
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise PageRefused(f"a change without a readable sequence number: {str(raw)[:200]}")
        if seq <= after:
            counts.stale += 1
            continue
        highest = max(highest, seq)
        item, problems = parse(raw)
        if item is None:
            rejections.append(
                {
                    "seq": seq,
                    "entity": str(raw.get("entity"))[:16] if raw.get("entity") else None,
                    "national_id": str(raw.get("national_id"))[:64]
                    if raw.get("national_id")
                    else None,
                    "errors": problems,
                    "detected_at": utcnow(),
                }
            )
            continue
        typed.append(item)
    typed.sort(key=lambda t: t.change.seq)
    typed = list({t.change.seq: t for t in typed}.values())  # a seq repeated in one page
    page = await _load(session, typed)
    page.force = force
    now = utcnow()
    conflicts: list[dict[str, Any]] = []
    for item in typed:
        entity = item.change.entity
        outcome: dict[str, Any] | str | None
        if entity == SyncEntity.HOUSEHOLD:
            outcome = _household(session, page, item, counts, now)
        elif entity == SyncEntity.CATEGORY:
            outcome = _category(page, item, counts, now)
        else:
            outcome = _person(session, page, item, counts, now, today)
        if isinstance(outcome, dict):
            conflicts.append(outcome)
        elif isinstance(outcome, str):
            rejections.append(
                {
                    "seq": item.change.seq,
                    "entity": entity.value,
                    "national_id": item.change.national_id,
                    "errors": [{"field": _UNPLACED_FIELD[entity], "reason": outcome}],
                    "detected_at": now,
                }
            )
    # The version the flush will give each household written here: a later local edit raises
    # `version` past it, which is how the next sync recognises a local change.
    for household in {id(h): h for h in page.households.values()}.values():
        written = any((id(household), g) in page.written for g in _HOUSEHOLD_GROUPS)
        if written and id(household) not in page.disputed:
            household.synced_version = 1 if household.version is None else household.version + 1
    await _assign_ids(session, list(session.new))
    await session.flush()  # moves close old rows before the new memberships below
    for person, household, data in page.joins.values():
        session.add(
            Membership(
                household_id=household.id,
                person_id=person.id,
                relation=data.relation or Relation.OTHER,
                joined_on=data.joined_on or today,
                created_by=SYNC_USER,
                updated_by=SYNC_USER,
            )
        )
    for household, item in page.determinations:
        assert isinstance(item.data, CategoryData)
        session.add(
            Determination(
                household_id=household.id,
                category=item.data.category,
                channel=item.data.channel,
                decided_on=item.data.decided_on,
                decided_by=SYNC_USER,
                valid_from=item.data.valid_from,
                valid_until=item.data.valid_until,
                reasons=[
                    {
                        "rule": "national.sync",
                        "passed": True,
                        "detail": f"recorded in the national system (change {item.change.seq}, "
                        f"version {item.change.version})",
                    }
                ],
                standards={},
            )
        )
    await _assign_ids(session, list(session.new))
    await session.flush()
    await _insert_ignoring(
        session, SyncConflict, conflicts, ("entity", "national_id", "national_version")
    )
    await _insert_ignoring(session, SyncRejection, rejections, ("seq",))
    await comparison_queue.enqueue(session, _touched(page))
    counts.conflicts += len(conflicts)
    counts.rejected += len(rejections)
    return counts, highest


async def _load(session: AsyncSession, typed: list[_Typed]) -> _Page:
    page = _Page()
    household_ids = {t.change.national_id for t in typed if t.change.entity != SyncEntity.PERSON}
    household_ids |= {
        t.data.household_id
        for t in typed
        if isinstance(t.data, PersonData) and t.data.household_id is not None
    }
    codes = {t.data.household_code for t in typed if isinstance(t.data, HouseholdData)}
    if household_ids:
        for household in await session.scalars(
            select(Household).where(Household.national_id.in_(household_ids))
        ):
            page.households[household.national_id or ""] = household
    if codes:
        for household in await session.scalars(select(Household).where(Household.code.in_(codes))):
            page.by_code[household.code] = household
    person_ids = {t.change.national_id for t in typed if t.change.entity == SyncEntity.PERSON}
    numbers = {t.data.id_number for t in typed if isinstance(t.data, PersonData)}
    if person_ids:
        for person in await session.scalars(
            select(Person).where(Person.national_person_id.in_(person_ids))
        ):
            page.persons[person.national_person_id or ""] = person
    if numbers:
        for person in await session.scalars(select(Person).where(Person.id_number.in_(numbers))):
            page.by_number[person.id_number] = person
    people = {**page.persons, **{p.id_number: p for p in page.by_number.values()}}.values()
    known = [p.id for p in people]
    rows = {h.id: h for h in (*page.households.values(), *page.by_code.values())}
    if rows or known:
        waiting = await session.execute(
            select(SyncConflict.household_id, SyncConflict.person_id).where(
                SyncConflict.status == ConflictStatus.OPEN,
                SyncConflict.household_id.in_(rows) | SyncConflict.person_id.in_(known),
            )
        )
        by_person = {p.id: p for p in people}
        for household_id, person_id in waiting:
            row = (
                rows.get(household_id)
                if household_id is not None
                else by_person.get(person_id or 0)
            )
            if row is not None:
                page.disputed.add(id(row))
    if known:
        for membership in await session.scalars(
            select(Membership).where(Membership.person_id.in_(known), Membership.left_on.is_(None))
        ):
            page.memberships[membership.person_id] = membership
    return page


def _conflict(
    item: _Typed,
    local: dict[str, Any],
    changed_at: datetime | None,
    changed_by: str | None,
    household: Household | None = None,
    person: Person | None = None,
) -> dict[str, Any]:
    return {
        "entity": item.change.entity,
        "national_id": item.change.national_id,
        "national_version": item.change.version,
        "seq": item.change.seq,
        "household_id": household.id if household is not None else None,
        "person_id": person.id if person is not None else None,
        "national_state": item.change.model_dump(mode="json"),
        "local_state": local,
        "local_changed_at": changed_at,
        "local_changed_by": changed_by,
        "detected_at": utcnow(),
    }


def _state(row: Any, names: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(row, name)
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


def _differs(row: Any, data: Any, names: Iterable[str]) -> bool:
    return any(getattr(row, n) != getattr(data, n) for n in names)


def _household_changed_locally(
    page: _Page, household: Household, data: Any, group: SyncEntity
) -> bool:
    if page.force or id(household) in page.created:
        return False
    if id(household) in page.disputed:
        return True
    if (id(household), group) in page.written:
        return False
    names = _HOUSEHOLD_FIELDS if group == SyncEntity.HOUSEHOLD else _CATEGORY_FIELDS
    if household.synced_version is None:
        # Known here before it was ever synced: a difference is a local state to keep.
        return _differs(household, data, names)
    return household.version != household.synced_version


def _person_changed_locally(page: _Page, person: Person, data: PersonData) -> bool:
    if page.force:
        return False
    if id(person) in page.disputed:
        return True
    if (id(person), SyncEntity.PERSON) in page.written:
        return False
    if person.synced_version is None:
        # Known here before it was ever synced: a difference is a local state to keep.
        return _differs(person, data, _PERSON_FIELDS)
    return person.version != person.synced_version


def _household(
    session: AsyncSession, page: _Page, item: _Typed, counts: Counts, now: datetime
) -> dict[str, Any] | str | None:
    data = item.data
    assert isinstance(data, HouseholdData)
    nid = item.change.national_id
    household = page.households.get(nid)
    if household is None:
        household = page.by_code.get(data.household_code)
        if household is not None and household.national_id not in (None, nid):
            return (
                f"household code {data.household_code} belongs here to national household "
                f"{household.national_id}"
            )
    if household is not None and (household.national_version or 0) >= item.change.version:
        counts.stale += 1
        return None
    if household is not None and _household_changed_locally(
        page, household, data, SyncEntity.HOUSEHOLD
    ):
        page.disputed.add(id(household))
        if household.national_id is None:
            # Linked by its code: the identity is recorded, the state waits for a decision.
            household.national_id = nid
            page.households[nid] = household
        return _conflict(
            item,
            _state(household, ("code", *_HOUSEHOLD_FIELDS, "version")),
            household.updated_at,
            household.updated_by,
            household=household,
        )
    if household is None:
        household = Household(
            code=data.household_code,
            category=Category.NONE,
            status=HouseholdStatus.NOT_COVERED,
            channel=Channel.SURVEY,
            created_by=SYNC_USER,
        )
        session.add(household)
        page.created.add(id(household))
        counts.households_created += 1
    else:
        counts.households_updated += 1
    for name in _HOUSEHOLD_FIELDS:
        setattr(household, name, getattr(data, name))
    household.national_id = nid
    household.national_version = item.change.version
    household.updated_by = SYNC_USER
    household.updated_at = now
    page.households[nid] = household
    page.by_code[data.household_code] = household
    page.written.add((id(household), SyncEntity.HOUSEHOLD))
    return None


def _category(
    page: _Page, item: _Typed, counts: Counts, now: datetime
) -> dict[str, Any] | str | None:
    data = item.data
    assert isinstance(data, CategoryData)
    household = page.households.get(item.change.national_id)
    if household is None:
        return "the household of this category change is not known here yet"
    if (household.national_category_version or 0) >= item.change.version:
        counts.stale += 1
        return None
    if _household_changed_locally(page, household, data, SyncEntity.CATEGORY):
        page.disputed.add(id(household))
        return _conflict(
            item,
            _state(household, ("code", *_CATEGORY_FIELDS, "version")),
            household.updated_at,
            household.updated_by,
            household=household,
        )
    for name in _CATEGORY_FIELDS:
        setattr(household, name, getattr(data, name))
    household.national_category_version = item.change.version
    household.updated_by = SYNC_USER
    household.updated_at = now
    page.written.add((id(household), SyncEntity.CATEGORY))
    page.determinations.append((household, item))
    counts.categories_applied += 1
    return None


def _person(
    session: AsyncSession, page: _Page, item: _Typed, counts: Counts, now: datetime, today: date
) -> dict[str, Any] | str | None:
    data = item.data
    assert isinstance(data, PersonData)
    nid = item.change.national_id
    person = page.persons.get(nid) or page.by_number.get(data.id_number)
    if person is not None and (person.national_version or 0) >= item.change.version:
        counts.stale += 1
        return None
    target: Household | None = None
    if data.household_id is not None:
        target = page.households.get(data.household_id)
        if target is None:
            return f"household {data.household_id} is not known here yet"
    if person is not None and _person_changed_locally(page, person, data):
        page.disputed.add(id(person))
        return _conflict(
            item,
            _state(person, ("id_number", *_PERSON_FIELDS)),
            person.updated_at,
            person.updated_by,
            person=person,
        )
    if person is None:
        person = Person(
            id_number=data.id_number,
            employment_status="NOT_IN_LABOUR_FORCE"
            if data.labor_capacity == LaborCapacity.NONE
            else "FARMING",
            created_by=SYNC_USER,
        )
        session.add(person)
        counts.persons_created += 1
    else:
        counts.persons_updated += 1
    for name in _PERSON_FIELDS:
        setattr(person, name, getattr(data, name))
    person.national_person_id = nid
    person.national_version = item.change.version
    person.updated_by = SYNC_USER
    person.updated_at = now
    if id(person) not in page.disputed:
        # The version the flush gives the row (it is always written: updated_at changes).
        person.synced_version = 1 if person.version is None else person.version + 1
    page.persons[nid] = person
    page.by_number[data.id_number] = person
    page.written.add((id(person), SyncEntity.PERSON))
    if _move(page, person, target, data, today):
        counts.moves += 1
    return None


def _move(
    page: _Page, person: Person, target: Household | None, data: PersonData, today: date
) -> bool:
    """Keep the person's current membership in step with the household the change names;
    answer whether the person moved from one household to another."""
    pending = page.joins.pop(id(person), None)
    if pending is not None:  # joined a household earlier in this page: that join is replaced
        if target is not None:
            page.joins[id(person)] = (person, target, data)
        return False
    current = page.memberships.pop(person.id, None) if person.id is not None else None
    if current is not None and target is not None and current.household_id == target.id:
        page.memberships[person.id] = current
        if data.relation is not None and current.relation != data.relation:
            current.relation = data.relation
            current.updated_by = SYNC_USER
        return False
    if current is not None:
        current.left_on = max(current.joined_on, data.joined_on or today)
        current.updated_by = SYNC_USER
    if target is not None:
        page.joins[id(person)] = (person, target, data)
    return current is not None and target is not None


async def _assign_ids(session: AsyncSession, rows: list[Any]) -> None:
    """Give new rows their ids before the flush. The ORM must otherwise insert them one
    statement at a time to read each generated id back (measured: 80 % of a page's time on
    SQLite); with ids set it sends each table's rows as one batch."""
    by_table: dict[Any, list[Any]] = {}
    for row in rows:
        if getattr(row, "id", None) is None:
            by_table.setdefault(type(row), []).append(row)
    postgres = session.get_bind().dialect.name == "postgresql"
    for model, new in by_table.items():
        table = model.__tablename__
        if postgres:
            ids = list(
                await session.scalars(
                    text(
                        f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                        "FROM generate_series(1, :n)"
                    ),
                    {"n": len(new)},
                )
            )
        else:
            # SQLite hands out max(id) + 1; the unit of work holds the write lock (BEGIN
            # IMMEDIATE), so nobody else can take these ids meanwhile.
            top = await session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table}"))
            ids = list(range(int(top or 0) + 1, int(top or 0) + 1 + len(new)))
        for row, new_id in zip(new, ids, strict=True):
            row.id = new_id


async def _insert_ignoring(
    session: AsyncSession, model: Any, rows: list[dict[str, Any]], keys: tuple[str, ...]
) -> None:
    """Insert rows, skipping those whose unique key is stored already (a rerun of a page)."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(model).on_conflict_do_nothing(index_elements=list(keys))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(model).on_conflict_do_nothing(index_elements=list(keys))
    await session.execute(statement, rows)
