"""The context a subscription runs with: the request's, and the process's notice hub."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.context import Context
from gateway.subscriptions.hub import NoticeHub


@dataclass
class SubscriptionContext(Context):
    hub: NoticeHub | None = None
