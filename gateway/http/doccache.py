"""Caches of what a GraphQL document's text decides: validation, analysis, limits, plans.

Departments send the same few documents again and again. Results are keyed by the document's
text rather than by the parsed document: graphql-core's nodes are dataclasses whose hash and
equality walk the whole tree (0.4 ms for 500 fields, on every lookup), while a string's hash is
computed once and a lookup with the very string the parse cache holds compares it by identity.
The same text always parses to the same document, so a result for one is a result for all.
Only documents of at most CACHEABLE characters are kept (the parse cache's own bound): a large
one-off document would only pin memory.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from cachetools import LRUCache
from graphql import DocumentNode

CACHEABLE = 16 * 1024

P = ParamSpec("P")
R = TypeVar("R")


def text_of(document: DocumentNode) -> str | None:
    """The text a cacheable document was parsed from, else None."""
    if document.loc is None:
        return None
    body = document.loc.source.body
    return body if len(body) <= CACHEABLE else None


def by_document_text(maxsize: int) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Cache a function of hashable arguments and one DocumentNode, keyed by its text."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        cache: LRUCache[tuple[Any, ...], R] = LRUCache(maxsize)

        @wraps(function)
        def cached(*args: P.args, **kwargs: P.kwargs) -> R:
            key: list[Any] = []
            for arg in (*args, *kwargs.values()):
                if isinstance(arg, DocumentNode):
                    arg = text_of(arg)
                    if arg is None:
                        return function(*args, **kwargs)
                key.append(arg)
            found = cache.get(tuple(key), _MISSING)
            if found is _MISSING:
                found = cache[tuple(key)] = function(*args, **kwargs)
            return found  # type: ignore[no-any-return]

        return cached

    return decorate


_MISSING: Any = object()
