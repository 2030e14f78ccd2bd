"""Per-request dataloaders: one statement per kind of fan-out, however many parents ask."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader

from gateway.households import queries
from gateway.monitoring.access import assigned_filter
from resolvers import rows
from resolvers.pagination import decode_cursor, encode_cursor, page_size
from schema import types as t

if TYPE_CHECKING:
    from gateway.context import Context

# The lists whose rows name a person, who is then among those the answer concerns (audit).
_ABOUT_PERSONS = frozenset({"members", "records", "events"})

# (list name, household id, page size, after id, flag)
ChildKey = tuple[str, int, int, int | None, bool]


def connection(
    kind: str, items: Sequence[Any], size: int, mapper: Any, cursor: Any = None
) -> t.Connection[Any]:
    """A page from `size + 1` rows fetched; `cursor(row)` when the order is not by id."""
    edges = [
        t.Edge(
            cursor=cursor(row) if cursor is not None else encode_cursor(kind, row.id),
            node=mapper(row),
        )
        for row in items[:size]
    ]
    return t.Connection(
        edges=edges,
        page_info=t.PageInfo(
            has_next_page=len(items) > size, end_cursor=edges[-1].cursor if edges else None
        ),
    )


class Loaders:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.region: DataLoader[str, t.Region] = DataLoader(load_fn=self._regions)
        self.household_of_person: DataLoader[int, t.Household | None] = DataLoader(
            load_fn=self._households_of_persons
        )
        self._children: DataLoader[ChildKey, t.Connection[Any]] = DataLoader(
            load_fn=self._child_pages
        )
        # Loaders of other lists, made on first use by their resolvers (resolvers/warnings.py).
        self.extra: dict[str, DataLoader[Any, Any]] = {}

    async def page(
        self, name: str, household_id: int, first: int | None, after: str | None, flag: bool = False
    ) -> t.Connection[Any]:
        size = page_size(first, self.ctx.db.settings)
        after_id = decode_cursor(name, after)
        return await self._children.load((name, household_id, size, after_id, flag))

    async def _regions(self, codes: list[str]) -> list[t.Region]:
        found = {
            r.code: rows.region(r) for r in await self.ctx.fetch(queries.regions_by_code(codes))
        }
        return [found[code] for code in codes]

    async def _households_of_persons(self, person_ids: list[int]) -> list[t.Household | None]:
        region = self.ctx.principal.region_code
        result = await self.ctx.fetch(queries.current_households_of_persons(person_ids, region))
        self.ctx.saw(households=(r.id for r in result))
        found = {r.person_id: rows.household(r) for r in result}
        return [found.get(pid) for pid in person_ids]

    async def _child_pages(self, keys: list[ChildKey]) -> list[t.Connection[Any]]:
        groups: dict[tuple[str, int, int | None, bool], list[int]] = defaultdict(list)
        for name, household_id, size, after_id, flag in keys:
            groups[(name, size, after_id, flag)].append(household_id)
        pages: dict[ChildKey, t.Connection[Any]] = {}
        principal = self.ctx.principal
        agency = None if principal.sees_every_agency else principal.agency
        for (name, size, after_id, flag), household_ids in groups.items():
            spec = queries.CHILD_LISTS[name]
            stmt = spec.statement(
                household_ids,
                after_id=after_id,
                per_parent=size + 1,
                flag=flag,
                agency=assigned_filter(principal) if name == "warnings" else agency,
                region=principal.region_code,
            )
            by_parent: dict[int, list[Any]] = defaultdict(list)
            for row in await self.ctx.fetch(stmt):
                by_parent[row.household_id].append(row)
            if name in _ABOUT_PERSONS:
                self.ctx.saw(
                    persons=(r.person_id for items in by_parent.values() for r in items[:size])
                )
            mapper = rows.CHILD_MAPPERS[name]
            for household_id in household_ids:
                key = (name, household_id, size, after_id, flag)
                pages[key] = connection(name, by_parent.get(household_id, []), size, mapper)
        return [pages[key] for key in keys]
