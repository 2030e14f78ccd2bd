"""The request path's view of trusted documents: one per process, with a short cache.

Each answer is kept for LIG_TRUSTED_DOCUMENTS_CACHE_SECONDS (10 s by default; 0 turns the cache
off). That is the delay, in every process, of a change made anywhere: a removed document goes on
being answered, a newly registered one asked for just before goes on being refused, and a change
of a client's trusted-documents-only flag goes unseen, each for at most that long. A body itself
never goes stale: its id is the hash of its text.

The cache (cachetools' TTLCache) is bounded in entries and in characters of bodies, least
recently used first out, so a client sending ids at random cannot grow it. Reads are one
primary-key SELECT each on the primary's autocommit pool (`Database.reader`): a standby could
lag behind a removal.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cachetools import TTLCache
from sqlalchemy import select

from gateway.database import Database
from gateway.documents.ids import is_document_id
from gateway.models import OAuthClient, TrustedDocument
from gateway.settings import Settings

# Bodies weigh their characters and a fixed share for the entry itself (a remembered miss
# weighs that share alone), so the cache holds at most 16 Mi characters and 64 Ki entries.
MAX_BODY_CHARACTERS = 16 * 1024 * 1024
ENTRY_WEIGHT = 256
MAX_CLIENTS = 10_000


def _weight(body: str | None) -> int:
    return ENTRY_WEIGHT + (len(body) if body is not None else 0)


class DocumentStore:
    """Made once per process with its Database (and the settings, the Database's unless
    given); `body` and `required` for each request."""

    def __init__(
        self,
        db: Database,
        settings: Settings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        ttl = (settings or db.settings).trusted_documents_cache_seconds
        # A document not (yet) registered is remembered too: ids sent at random cost one
        # lookup each per cache period, not one per request. With a period of 0, nothing is.
        self._bodies: TTLCache[tuple[str, str], str | None] | None = None
        self._required: TTLCache[str, bool] | None = None
        if ttl > 0:
            self._bodies = TTLCache(MAX_BODY_CHARACTERS, ttl, timer=clock, getsizeof=_weight)
            self._required = TTLCache(MAX_CLIENTS, ttl, timer=clock)

    async def body(self, client_id: str, document_id: str) -> str | None:
        """The text the client registered under `document_id`, or None (also for an id that
        does not have the form of one)."""
        if not is_document_id(document_id) or len(client_id) > 64:
            return None
        key = (client_id, document_id)
        if self._bodies is not None and key in self._bodies:
            return self._bodies[key]
        async with self.db.reader.connect() as conn:
            body = await conn.scalar(
                select(TrustedDocument.body).where(
                    TrustedDocument.client_id == client_id,
                    TrustedDocument.document_id == document_id,
                )
            )
        if self._bodies is not None:
            self._bodies[key] = body
        return body

    async def required(self, client_id: str) -> bool:
        """Whether the client may only send registered documents (False for an unknown one)."""
        if self._required is not None and client_id in self._required:
            return self._required[client_id]
        async with self.db.reader.connect() as conn:
            flag = await conn.scalar(
                select(OAuthClient.trusted_documents_only).where(OAuthClient.client_id == client_id)
            )
        required = bool(flag)
        if self._required is not None:
            self._required[client_id] = required
        return required
