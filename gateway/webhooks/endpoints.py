"""Registering, rotating and deactivating an agency's webhook endpoints.

An endpoint belongs to an agency: every notice of the agency goes to each of its active
endpoints. The rules:
- The URL is `https://…`. Plain `http://` is accepted only for a loopback host (127.0.0.0/8,
  ::1, localhost: a relay on the gateway's own host) or when LIG_ENV is `development` or
  `test`. No user name or password in the URL, no fragment, at most 500 characters.
  Redirects are never followed.
- A client bound to a region (a town) cannot register one: the agency's endpoints receive
  every notice of the agency, in every region. Such a client uses the subscription, which is
  cut to its region.
- The secret is made here, answered once (at registration and at each rotation) and kept
  encrypted (gateway/webhooks/secrets.py).
- An agency acts on its own endpoints only; civil affairs reads every agency's.
- Deactivating stops delivery at once: the endpoint's pending deliveries are given up (they can
  be replayed to another endpoint).

Services take the session and never commit; every change is recorded in the audit trail.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audit import record_change
from gateway.database import AnySelect
from gateway.domain.enums import DeliveryStatus
from gateway.errors import Conflict, Forbidden, InvalidInput, LimitExceeded, NotFound
from gateway.models import WebhookDelivery, WebhookEndpoint
from gateway.principal import Principal
from gateway.settings import Settings
from gateway.webhooks import secrets

MAX_URL = 500
# Active endpoints an agency may have at once.
MAX_ACTIVE = 10
DEACTIVATED = "endpoint deactivated"


@dataclass(frozen=True, slots=True)
class Registered:
    """An endpoint and its secret in clear: answered once, never stored so."""

    endpoint: WebhookEndpoint
    secret: str


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, settings: Settings) -> str:
    """The URL as it will be called, or InvalidInput naming `url`."""
    if len(url) > MAX_URL:
        raise InvalidInput("url", f"at most {MAX_URL} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidInput("url", "no spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidInput("url", f"not a URL ({error})") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("https", "http") or not host:
        raise InvalidInput("url", "an absolute https:// URL is required")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("url", "no user name or password in the URL; the signature proves us")
    if parts.fragment:
        raise InvalidInput("url", "no #fragment")
    if port == 0:
        raise InvalidInput("url", "port 0 is not a port")
    if scheme == "http" and not _loopback(host) and settings.env == "production":
        raise InvalidInput(
            "url", "https is required (plain http only to a loopback address, 127.0.0.1)"
        )
    return url


def _region_bound(principal: Principal) -> None:
    if principal.region_code is not None:
        raise Forbidden(
            "webhooks deliver every notice of your agency, in every region; a client bound to "
            "a region uses the warningNotices subscription instead"
        )


def visible(principal: Principal) -> AnySelect:
    """The endpoints the principal may read, newest first."""
    _region_bound(principal)
    query = select(
        WebhookEndpoint.id,
        WebhookEndpoint.agency_code,
        WebhookEndpoint.url,
        WebhookEndpoint.active,
        WebhookEndpoint.created_at,
        WebhookEndpoint.created_by,
        WebhookEndpoint.updated_at,
        WebhookEndpoint.updated_by,
    ).order_by(WebhookEndpoint.id.desc())
    if not principal.sees_every_agency:
        query = query.where(WebhookEndpoint.agency_code == principal.agency)
    return query


async def own(session: AsyncSession, principal: Principal, endpoint_id: int) -> WebhookEndpoint:
    """One of the principal's own agency's endpoints (locked for the change), or an error."""
    _region_bound(principal)
    endpoint = await session.scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).with_for_update()
    )
    if endpoint is None or (
        endpoint.agency_code != principal.agency and not principal.sees_every_agency
    ):
        raise NotFound(f"no webhook endpoint {endpoint_id} of your agency", field="id")
    if endpoint.agency_code != principal.agency:
        raise Forbidden("you act on your own agency's webhook endpoints only", field="id")
    return endpoint


def _audit(
    session: AsyncSession,
    principal: Principal,
    action: str,
    endpoint: WebhookEndpoint,
    request_id: str,
    **details: Any,
) -> None:
    record_change(
        session,
        principal,
        action=action,
        request_id=request_id,
        subjects={"webhook_endpoint": endpoint.id, "url": endpoint.url, **details},
    )


async def register(
    session: AsyncSession,
    principal: Principal,
    url: str,
    settings: Settings,
    *,
    request_id: str,
    now: datetime,
) -> Registered:
    _region_bound(principal)
    checked = check_url(url, settings)
    secrets.check_key(settings)
    active = await session.scalar(
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.agency_code == principal.agency, WebhookEndpoint.active.is_(True))
    )
    if (active or 0) >= MAX_ACTIVE:
        raise LimitExceeded(
            f"at most {MAX_ACTIVE} active webhook endpoints per agency; deactivate one first",
            field="url",
        )
    secret = secrets.new_secret()
    endpoint = WebhookEndpoint(
        agency_code=principal.agency,
        url=checked,
        secret=secrets.seal(settings, secret),
        active=True,
        created_at=now,
        created_by=principal.client_id,
        updated_at=now,
        updated_by=principal.client_id,
    )
    session.add(endpoint)
    await session.flush()
    _audit(session, principal, "webhooks.register", endpoint, request_id)
    return Registered(endpoint, secret)


async def rotate_secret(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: int,
    settings: Settings,
    *,
    request_id: str,
    now: datetime,
) -> Registered:
    """A new secret, in force at once: POSTs signed with the old one that the receiver then
    refuses are retried (signed anew) until it has the new one."""
    endpoint = await own(session, principal, endpoint_id)
    if not endpoint.active:
        raise Conflict(f"webhook endpoint {endpoint_id} is deactivated", field="id")
    secret = secrets.new_secret()
    endpoint.secret = secrets.seal(settings, secret)
    endpoint.updated_at = now
    endpoint.updated_by = principal.client_id
    await session.flush()
    _audit(session, principal, "webhooks.rotate_secret", endpoint, request_id)
    return Registered(endpoint, secret)


async def deactivate(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: int,
    *,
    request_id: str,
    now: datetime,
) -> WebhookEndpoint:
    endpoint = await own(session, principal, endpoint_id)
    if not endpoint.active:
        return endpoint  # already: nothing changes, nothing to record
    endpoint.active = False
    endpoint.updated_at = now
    endpoint.updated_by = principal.client_id
    cancelled = await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.GAVE_UP, next_attempt_at=None, last_error=DEACTIVATED)
    )
    await session.flush()
    _audit(
        session,
        principal,
        "webhooks.deactivate",
        endpoint,
        request_id,
        pending_given_up=cancelled.rowcount,  # type: ignore[attr-defined]
    )
    return endpoint
