"""A paged feed's pull: page after page from the checkpoint's cursor, each page stored with the
checkpoint advanced in one transaction (see feeds.py for the whole pull)."""

from __future__ import annotations

import contextlib
from datetime import date

from adapters.feeds import FeedDefinition
from adapters.feeds.paged import Page, PagedFeed
from adapters.http import Policy, Upstream, Upstreams
from gateway.database import Database
from gateway.pushes.ingest import Tally
from gateway.settings import Settings
from gateway.sync import Progress
from gateway.sync.feed_store import (
    PullReport,
    advance,
    checkpoint_name,
    normalised,
    store,
)
from gateway.sync.leases import Lease


async def pull_pages(
    db: Database,
    settings: Settings,
    feed: FeedDefinition,
    cursor: str | None,
    *,
    today: date,
    report: PullReport,
    lease: Lease,
    request_id: str,
    progress: Progress | None,
    upstreams: Upstreams | None = None,
) -> None:
    """Raises UpstreamError when the upstream fails past its retries, LeaseHeld when the lease
    was lost; every page stored before stays stored, and the next pull resumes after it."""
    keys = settings.feed_api_keys
    headers = {"X-Api-Key": keys[feed.agency].get_secret_value()} if feed.agency in keys else {}
    name, url = checkpoint_name(feed.agency), settings.feed_urls[feed.agency]

    def make() -> Upstream:
        return Upstream(name, url, Policy.from_settings(settings), headers=headers)

    # A schedule keeps its clients (and their breakers) from pull to pull; a single pull
    # closes its own.
    upstream = upstreams.get(name, url, make) if upstreams is not None else make()
    async with contextlib.AsyncExitStack() as stack:
        if upstreams is None:
            await stack.enter_async_context(upstream)
        async for page in PagedFeed(upstream, settings.feed_page_size).pages(cursor):
            if page.records or page.next_cursor != page.cursor:
                await _store_page(db, settings, feed, page, today, report, request_id)
            await lease.renew()
            if progress is not None:
                progress(len(page.records), None)


async def _store_page(
    db: Database,
    settings: Settings,
    feed: FeedDefinition,
    page: Page,
    today: date,
    report: PullReport,
    request_id: str,
) -> None:
    items = [normalised(feed, record) for record in page.records]  # one page: bounded
    tally = Tally()
    async with db.unit_of_work() as session:
        if items:
            stored = await store(
                session, settings, feed.agency, items, request_id=request_id, today=today
            )
            tally = stored.tally
        position = await advance(
            session,
            feed.agency,
            expected_cursor=page.cursor,
            cursor=page.next_cursor,
            records=len(page.records),
            tally=tally,
            pages=1,
        )
    report.add(tally)
    report.pages += 1
    report.position = position
