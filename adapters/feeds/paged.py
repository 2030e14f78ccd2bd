"""A paged JSON feed, read from a cursor: how the gateway pulls an agency's records.

The wire (one shape for every paged agency feed; `paged_simulator.py` plays it):

    GET {base}/api/records?cursor=C&limit=N      X-Api-Key: <the agency's key>
    → 200 {"records": [...], "next_cursor": "…", "has_more": true | false}

`cursor` is opaque and absent on the first call. `next_cursor` is where the next page starts
and is never null, also on the last page: a later run resumes there and sees only what the
agency added since, instead of fetching its last page again (a `null` at the end would leave
nothing to resume from). `has_more` says whether to ask again now. A page may repeat records
of the page before it or hold them out of order (upstreams do); the records' own ids and
versions, checked by the push service, make that harmless.

Memory is bounded by one page, however large the feed: pages are fetched one at a time and
handed on before the next is asked for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from adapters.http import Upstream, UpstreamError

PATH = "/api/records"
MAX_CURSOR = 512  # what a checkpoint keeps (sync_checkpoints.cursor)


@dataclass(frozen=True, slots=True)
class Page:
    cursor: str | None  # the cursor asked for
    records: list[Any]
    next_cursor: str
    has_more: bool


class PagedFeed:
    def __init__(self, upstream: Upstream, page_size: int) -> None:
        self.upstream = upstream
        self.page_size = page_size

    async def page(self, cursor: str | None) -> Page:
        params = {"limit": str(self.page_size)}
        if cursor is not None:
            params["cursor"] = cursor
        body = await self.upstream.get_json(PATH, params)
        return self._read(cursor, body)

    async def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        """Pages from `cursor` (None: the beginning) until the feed says there is no more."""
        while True:
            page = await self.page(cursor)
            yield page
            if not page.has_more:
                return
            cursor = page.next_cursor

    def _read(self, cursor: str | None, body: Any) -> Page:
        """The page, or UpstreamError if the answer is not one: not retried, since asking again
        would get the same answer."""
        if not isinstance(body, dict):
            raise self._wrong("not a JSON object")
        records, next_cursor, has_more = (
            body.get("records"),
            body.get("next_cursor"),
            body.get("has_more"),
        )
        if not isinstance(records, list):
            raise self._wrong("`records` is not a list")
        if not isinstance(next_cursor, str) or not 0 < len(next_cursor) <= MAX_CURSOR:
            raise self._wrong(f"`next_cursor` is not a string of 1 to {MAX_CURSOR} characters")
        if not isinstance(has_more, bool):
            raise self._wrong("`has_more` is not true or false")
        if has_more and next_cursor == cursor:
            # Following it would ask for the same page for ever.
            raise self._wrong(f"`has_more` is true but the cursor did not move ({cursor!r})")
        return Page(cursor, records, next_cursor, has_more)

    def _wrong(self, what: str) -> UpstreamError:
        return UpstreamError(self.upstream.name, f"answered a page that is not a feed page: {what}")
