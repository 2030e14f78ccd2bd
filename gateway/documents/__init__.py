"""Trusted documents: the GraphQL operations a client registered, which it sends by id.

- `ids`: what names a document (`sha256:` and the hex SHA-256 of its text); pure.
- `service`: registering and removing documents, and requiring a client to send only those
  (take the caller's session, never commit, audit every change).
- `store`: the request path's cached reads (`DocumentStore`), one per process.
"""

from gateway.documents.ids import (
    MAX_BODY_BYTES,
    check_document_id,
    document_id,
    is_document_id,
)
from gateway.documents.service import (
    add_document,
    count_documents,
    list_documents,
    remove_document,
    renamed,
    set_trusted_only,
)
from gateway.documents.store import DocumentStore

__all__ = [
    "MAX_BODY_BYTES",
    "DocumentStore",
    "add_document",
    "check_document_id",
    "count_documents",
    "document_id",
    "is_document_id",
    "list_documents",
    "remove_document",
    "renamed",
    "set_trusted_only",
]
