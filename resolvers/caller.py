"""`me`: who the gateway takes the caller to be (client, agency, scopes, region)."""

from __future__ import annotations

import strawberry

from gateway.context import Context
from schema import types as t


def me(info: strawberry.Info) -> t.Caller:
    ctx: Context = info.context
    principal = ctx.principal
    return t.Caller(
        client_id=principal.client_id,
        agency=principal.agency,
        scopes=sorted(principal.scopes),
        region_code=principal.region_code,
    )
