"""The national system's data as the simulator plays it: a deterministic change stream from a
seed, computed change by change (a million people never sit in memory as objects), and the
final state it leads to, computed by its own fold so that tests compare the synced database
with an answer the sync code did not produce.

The stream: every household's first version (its record, its members, its category), then
`updates` later changes (a new address, a new category, a member's new situation, a member who
moves to another household), then any changes appended while the simulator runs.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any

from adapters.national.divisions import TOWNS
from gateway.domain import idnumber
from gateway.domain.enums import (
    Category,
    Channel,
    HouseholdStatus,
    LaborCapacity,
    Relation,
    SyncEntity,
    UrbanRural,
)

_FAMILY = "张王李刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国兰红梅玉珍凤春"
_ROADS = ("人民路", "江海路", "和平路", "紫薇路", "公园路", "长江路", "建设路", "新港路")
_CATEGORIES = (
    Category.DIBAO,
    Category.DIBAO,
    Category.DIBAO,
    Category.TEKUN,
    Category.MARGINAL,
    Category.MARGINAL,
    Category.EXPENDITURE,
    Category.LEGACY_LOW_INCOME,
)
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_BIRTH_DAYS = 29_000  # birth dates spread over 1940-01-01 + 29,000 days


def _draw(seed: int, *key: object) -> int:
    text = ":".join(map(str, (seed, *key))).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


@dataclass(frozen=True, slots=True)
class _Update:
    entity: SyncEntity
    national_id: str
    version: int
    data: dict[str, Any]


@dataclass
class NationalDataset:
    seed: int = 2026
    households: int = 1000
    updates: int | None = None  # default: a tenth of the households
    _sizes: list[int] = field(init=False, repr=False)
    _starts: list[int] = field(init=False, repr=False)
    _updates: list[_Update] = field(init=False, repr=False)
    _appended: list[_Update] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._sizes = [1 + _draw(self.seed, "size", h) % 4 for h in range(self.households)]
        # Changes of household h start at seq _starts[h] + 1: its record, members, category.
        self._starts = [0, *accumulate(size + 2 for size in self._sizes)]
        self._person_base = [0, *accumulate(self._sizes)]
        count = self.households // 10 if self.updates is None else self.updates
        self._updates = self._make_updates(count)

    # The stream ---------------------------------------------------------------------------

    @property
    def initial(self) -> int:
        return self._starts[-1]

    @property
    def total(self) -> int:
        return self.initial + len(self._updates) + len(self._appended)

    @property
    def people(self) -> int:
        return self._person_base[-1]

    def change(self, seq: int) -> dict[str, Any]:
        """The change numbered `seq` (1-based), as the wire carries it."""
        if not 1 <= seq <= self.total:
            raise IndexError(seq)
        if seq <= self.initial:
            h = bisect_right(self._starts, seq - 1) - 1
            offset = seq - 1 - self._starts[h]
            size = self._sizes[h]
            if offset == 0:
                entity, national_id, data = SyncEntity.HOUSEHOLD, _hid(h), self._household(h)
            elif offset <= size:
                p = self._person_base[h] + offset - 1
                entity, national_id, data = SyncEntity.PERSON, _pid(p), self._person(p, h, offset)
            else:
                entity, national_id, data = SyncEntity.CATEGORY, _hid(h), self._category(h)
            version = 1
        else:
            later = self._updates + self._appended
            update = later[seq - self.initial - 1]
            entity, national_id, version, data = (
                update.entity,
                update.national_id,
                update.version,
                update.data,
            )
        return {
            "seq": seq,
            "entity": entity.value,
            "national_id": national_id,
            "version": version,
            "changed_at": (_EPOCH + timedelta(seconds=seq)).isoformat(),
            "data": data,
        }

    def changes(self, after: int = 0) -> Iterator[dict[str, Any]]:
        for seq in range(after + 1, self.total + 1):
            yield self.change(seq)

    def append(self, entity: SyncEntity, national_id: str, data: dict[str, Any]) -> int:
        """A national edit made while the simulator runs; answers its seq."""
        version = self._latest_version(entity, national_id) + 1
        self._appended.append(_Update(entity, national_id, version, data))
        return self.total

    def current(self, entity: SyncEntity, national_id: str) -> dict[str, Any]:
        """The latest state of one entity (for composing an edit)."""
        state = self.final_state()
        table = state.persons if entity == SyncEntity.PERSON else state.households
        found = table[national_id]
        if entity == SyncEntity.CATEGORY:
            return dict(found["category"])
        if entity == SyncEntity.HOUSEHOLD:
            return dict(found["household"])
        return dict(found)

    # The final state, by its own fold -----------------------------------------------------

    def final_state(self, skip: frozenset[int] = frozenset()) -> FinalState:
        """Every entity at its highest version, leaving out the changes numbered in `skip`."""
        state = FinalState()
        versions: dict[tuple[str, str], int] = {}
        for change in self.changes():
            if change["seq"] in skip:
                continue
            key = (change["entity"], change["national_id"])
            if versions.get(key, 0) >= change["version"]:
                continue
            versions[key] = change["version"]
            entity = SyncEntity(change["entity"])
            if entity == SyncEntity.PERSON:
                state.persons[change["national_id"]] = dict(change["data"])
            else:
                slot = state.households.setdefault(change["national_id"], {})
                slot["household" if entity == SyncEntity.HOUSEHOLD else "category"] = dict(
                    change["data"]
                )
        return state

    # Generation -----------------------------------------------------------------------------

    def _household(self, h: int, revision: int = 0) -> dict[str, Any]:
        draw = _draw(self.seed, "household", h, revision)
        town = TOWNS[draw % len(TOWNS)]
        return {
            "household_code": f"JM{self.seed % 1000:03d}{h:08d}",
            "region_code": town,
            "address": f"启东市{_ROADS[draw % len(_ROADS)]}{draw % 997 + 1}号",
            "phone": f"1{3 + draw % 7}{draw % 10**9:09d}",
            "urban_rural": (UrbanRural.URBAN if draw % 3 == 0 else UrbanRural.RURAL).value,
            "former_registered_poor": draw % 11 == 0,
        }

    def _person(self, p: int, h: int, offset: int, revision: int = 0) -> dict[str, Any]:
        draw = _draw(self.seed, "person", p, revision)
        born = date(1940, 1, 1) + timedelta(days=p % _BIRTH_DAYS)
        # Injective in p, and above the sequence numbers the demo county hands out.
        sequence = 500 + p // _BIRTH_DAYS
        relation = Relation.SELF if offset == 1 else (Relation.SPOUSE, Relation.CHILD)[draw % 2]
        return {
            "id_number": idnumber.compose("320681", born, sequence),
            "name": _FAMILY[_draw(self.seed, "family", h) % len(_FAMILY)]
            + _GIVEN[draw % len(_GIVEN)]
            + _GIVEN[(draw >> 8) % len(_GIVEN)],
            "phone": None,
            "household_id": _hid(h),
            "relation": relation.value,
            "joined_on": "2020-01-01",
            "labor_capacity": (LaborCapacity.FULL, LaborCapacity.WEAK, LaborCapacity.NONE)[
                (draw >> 16) % 3
            ].value,
            "disability_type": None,
            "disability_grade": None,
            "illness": "NONE",
            "deceased_on": None,
        }

    def _category(self, h: int, revision: int = 0) -> dict[str, Any]:
        draw = _draw(self.seed, "category", h, revision)
        category = _CATEGORIES[draw % len(_CATEGORIES)]
        decided = date(2025, 1, 1) + timedelta(days=draw % 300 + 30 * revision)
        return {
            "category": category.value,
            "status": (
                HouseholdStatus.ENDED if revision and draw % 5 == 0 else HouseholdStatus.ACTIVE
            ).value,
            "channel": Channel.APPLICATION.value,
            "decided_on": decided.isoformat(),
            "valid_from": decided.isoformat(),
            "valid_until": (decided + timedelta(days=365)).isoformat(),
        }

    def _make_updates(self, count: int) -> list[_Update]:
        versions: dict[tuple[SyncEntity, str], int] = {}
        updates: list[_Update] = []
        for u in range(count):
            draw = _draw(self.seed, "update", u)
            h = draw % self.households
            kind = (draw >> 20) % 4
            if kind == 0:
                entity, national_id, data = SyncEntity.HOUSEHOLD, _hid(h), self._household(h, u + 1)
                data["household_code"] = self._household(h)["household_code"]
            elif kind == 1:
                entity, national_id, data = SyncEntity.CATEGORY, _hid(h), self._category(h, u + 1)
            else:
                offset = 1 + (draw >> 24) % self._sizes[h]
                p = self._person_base[h] + offset - 1
                entity, national_id = SyncEntity.PERSON, _pid(p)
                data = self._person(p, h, offset)
                data["labor_capacity"] = LaborCapacity.NONE.value
                data["illness"] = "SEVERE"
                if kind == 3 and offset > 1 and self.households > 1:
                    # A member moves to another household (marriage, a new registration).
                    target = (h + 1 + (draw >> 32) % (self.households - 1)) % self.households
                    data["household_id"] = _hid(target)
                    data["relation"] = Relation.OTHER.value
                    data["joined_on"] = "2026-06-01"
            key = (entity, national_id)
            versions[key] = versions.get(key, 1) + 1
            updates.append(_Update(entity, national_id, versions[key], data))
        return updates

    def _latest_version(self, entity: SyncEntity, national_id: str) -> int:
        latest = 1
        for update in self._updates + self._appended:
            if update.entity == entity and update.national_id == national_id:
                latest = max(latest, update.version)
        return latest


@dataclass
class FinalState:
    # national household id → {"household": data, "category": data}
    households: dict[str, dict[str, Any]] = field(default_factory=dict)
    # national person id → data
    persons: dict[str, dict[str, Any]] = field(default_factory=dict)


def _hid(h: int) -> str:
    return f"H{h:010d}"


def _pid(p: int) -> str:
    return f"P{p:010d}"
