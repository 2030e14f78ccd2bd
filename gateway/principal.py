"""Who is asking: the client, its agency, its scopes and the region it is bound to."""

from __future__ import annotations

from dataclasses import dataclass

from auth.scopes import ALL_SCOPES, CIVIL_AFFAIRS
from gateway.domain.regions import within


@dataclass(frozen=True, slots=True)
class Principal:
    client_id: str
    agency: str
    scopes: frozenset[str]
    region_code: str | None = None  # a 12-digit code; None means every region
    token_id: str | None = None  # the access token's `jti`, for the audit trail
    # The primary's WAL position after this client's own last change (0: none kept): its reads
    # go to a standby only once it has replayed that far (gateway/replicas.py).
    last_write_lsn: int = 0

    def covers_region(self, region_code: str) -> bool:
        return self.region_code is None or within(region_code, self.region_code)

    @property
    def sees_every_agency(self) -> bool:
        """Civil affairs reads every agency's assistance records; others only their own."""
        return self.agency == CIVIL_AFFAIRS


# The operator at the command line (`lig review`, `lig standards set` …): whoever can run the
# CLI on the server already holds the database, so it acts as civil affairs with every scope.
LOCAL_OPERATOR = Principal(client_id="local", agency=CIVIL_AFFAIRS, scopes=ALL_SCOPES)
