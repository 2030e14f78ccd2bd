"""The agency feeds the gateway pulls (issue 6), and how each is read.

Two kinds: `paged`, a JSON API read page by page from a cursor (`paged.py`, its base URL and key
in `LIG_FEED_URLS`/`LIG_FEED_API_KEYS`), and `drop-folder`, CSV files left in a folder as
government data-exchange platforms deliver them (`adapters/education/feed.py`,
`LIG_FEED_DROP_FOLDER`). Each agency's normaliser (`adapters/<agency>/feed.py`, pure) turns one
of its records into one monitoring event of the push API (gateway/pushes/items.py), which then
meets the same checks and the same store as a push: a record that cannot be mapped is an
`Unreadable` item, rejected with its reason in the receipt, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from adapters import convert
from adapters.disabled_federation import feed as disabled_federation
from adapters.education import feed as education
from adapters.hr_social_security import feed as hr_social_security
from adapters.medical_security import feed as medical_security
from adapters.public_security import feed as public_security

Normaliser = Callable[[Any], convert.Item]


@dataclass(frozen=True, slots=True)
class FeedDefinition:
    agency: str  # the agency's code (the `agencies` table), also the feed's name
    kind: Literal["paged", "drop-folder"]
    normalise: Normaliser
    title: str
    # Seconds between pulls unless LIG_FEED_INTERVALS says otherwise; None: the default
    # (LIG_FEED_DEFAULT_INTERVAL).
    default_interval: int | None = None


FEEDS: dict[str, FeedDefinition] = {
    definition.agency: definition
    for definition in (
        FeedDefinition(
            "medical-security",
            "paged",
            medical_security.normalise,
            "medical security settlements (inpatient, outpatient)",
        ),
        FeedDefinition(
            "public-security",
            "paged",
            public_security.normalise,
            "public security: deaths and vehicle registrations",
        ),
        FeedDefinition(
            "disabled-federation",
            "paged",
            disabled_federation.normalise,
            "disability certificates",
            # Certificates are issued by the hundred a month: hourly is plenty.
            default_interval=3600,
        ),
        FeedDefinition(
            "hr-social-security",
            "paged",
            hr_social_security.normalise,
            "unemployment registrations",
        ),
        FeedDefinition(
            "education",
            "drop-folder",
            education.normalise,
            "school enrolments (CSV files in the drop folder)",
            # A file waiting is a file someone is waiting for: look often, it costs a listing.
            default_interval=60,
        ),
    )
}
