"""What names a trusted document: `sha256:` and the hex SHA-256 of its UTF-8 text.

Pure functions, no I/O. The text is hashed exactly as registered (no reformatting, line endings
kept), so a department can compute the id of its own file with `sha256sum` and an id names one
text for good.
"""

from __future__ import annotations

import hashlib
import re

from gateway.errors import InvalidInput

PREFIX = "sha256:"
# The largest document that may be registered, in UTF-8 bytes.
MAX_BODY_BYTES = 64 * 1024
_FORM = re.compile(r"sha256:[0-9a-f]{64}")
FORM = "sha256:<64 lowercase hex digits>"


def document_id(body: str) -> str:
    return PREFIX + hashlib.sha256(body.encode("utf-8")).hexdigest()


def is_document_id(text: str) -> bool:
    return _FORM.fullmatch(text) is not None


def check_document_id(text: str, field: str = "documentId") -> str:
    """`text` if it has the form of a document id, else InvalidInput naming `field`."""
    if not is_document_id(text):
        raise InvalidInput(field, f"is not a document id ({FORM})")
    return text
