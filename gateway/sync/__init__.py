"""Keeping the database in step with its upstreams: the national system (sync, monthly export)
and the agency feeds. The adapters (`adapters/`) speak to the upstreams; these services store
what they bring, page by page, each page in one transaction with its checkpoint."""

from collections.abc import Callable

# What a long job calls after each page or chunk: how many it just did, and how many are still
# to come when the upstream says (for the command's progress bar).
Progress = Callable[[int, int | None], None]
