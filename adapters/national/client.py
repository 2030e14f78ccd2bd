"""The client of the national system: one signed, pooled, retrying Upstream for every call."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio

from adapters.http import Policy, Upstream, UpstreamError
from adapters.national.signing import RequestSigner, SignatureMethod, sm3_available
from adapters.national.wire import API, ChangesPage, RejectionsPage, UploadAccepted, UploadReceipt
from gateway.errors import LigError
from gateway.settings import Settings

UPLOAD_CHUNK = 256 * 1024


class NotConfigured(LigError):
    """A setting the adapter needs is missing; the message names it."""

    code = "NOT_CONFIGURED"
    http_status = 400


class NationalClient:
    def __init__(self, settings: Settings, upstream: Upstream | None = None) -> None:
        missing = [
            name
            for name, value in (
                ("LIG_NATIONAL_URL", settings.national_url),
                ("LIG_NATIONAL_APP_KEY", settings.national_app_key),
                ("LIG_NATIONAL_APP_SECRET", settings.national_app_secret),
            )
            if not value
        ]
        if missing:
            raise NotConfigured("the national system is not configured: set " + ", ".join(missing))
        method = SignatureMethod(settings.national_signature)
        if method is SignatureMethod.HMAC_SM3 and not sm3_available():
            raise NotConfigured(
                "this Python's OpenSSL offers no SM3; install an OpenSSL with SM3 or set "
                "LIG_NATIONAL_SIGNATURE=HMAC-SHA256 if the national side accepts it"
            )
        app_key, secret, url = (
            settings.national_app_key or "",
            settings.national_app_secret,
            settings.national_url or "",
        )
        assert secret is not None
        self.signer = RequestSigner(app_key, secret.get_secret_value().encode(), method)
        self.upstream = upstream or Upstream(
            "national system",
            url,
            Policy.from_settings(settings),
            signer=self.signer,
        )

    async def aclose(self) -> None:
        await self.upstream.aclose()

    async def changes(self, cursor: str | None, limit: int) -> ChangesPage:
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        body = await self.upstream.get_json(f"{API}/changes", params)
        return ChangesPage.model_validate(body)

    async def upload(
        self, month: str, region_code: str, ndjson: Path, idempotency_key: str
    ) -> UploadAccepted:
        """Send a spooled NDJSON file as one upload (streamed, and streamed again on a retry)."""
        digest = hashlib.new(self.signer.hash_name)
        with ndjson.open("rb") as handle:
            while chunk := handle.read(UPLOAD_CHUNK):
                digest.update(chunk)

        def stream() -> AsyncIterator[bytes]:
            return _read(ndjson)

        response = await self.upstream.call(
            "POST",
            f"{API}/uploads",
            params={"month": month, "region_code": region_code},
            body=stream,
            body_digest=digest.hexdigest(),
            content_type="application/x-ndjson",
            headers={"Idempotency-Key": idempotency_key},
        )
        return UploadAccepted.model_validate_json(response.content)

    async def receipt(self, upload_id: str) -> UploadReceipt:
        return UploadReceipt.model_validate(
            await self.upstream.get_json(f"{API}/uploads/{upload_id}")
        )

    async def rejections(self, upload_id: str, page_size: int = 1000) -> AsyncIterator[Any]:
        cursor: str | None = None
        while True:
            params = {"limit": str(page_size), **({"cursor": cursor} if cursor else {})}
            page = RejectionsPage.model_validate(
                await self.upstream.get_json(f"{API}/uploads/{upload_id}/rejections", params)
            )
            for rejection in page.rejections:
                yield rejection
            if page.next_cursor is None:
                return
            if page.next_cursor == cursor:
                raise UpstreamError(
                    self.upstream.name, f"rejections cursor {cursor!r} did not move; stopped"
                )
            cursor = page.next_cursor


async def _read(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as handle:
        while chunk := await handle.read(UPLOAD_CHUNK):
            yield chunk
