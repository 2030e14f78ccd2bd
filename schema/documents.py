"""GraphQL types of trusted documents (gateway/documents): civil affairs registers the
operations a client may send by id."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.models import TrustedDocument as TrustedDocumentRow


@strawberry.type(
    description=(
        "A GraphQL document registered for a client. The client sends "
        '`{"documentId": …, "variables": …, "operationName": …}` to POST /graphql instead of '
        "the query; a client that requires trusted documents may send nothing else."
    )
)
class TrustedDocument:
    client_id: str
    document_id: str = strawberry.field(
        description="`sha256:` and the hex SHA-256 of the document's UTF-8 text as registered."
    )
    name: str
    document: str = strawberry.field(description="The text, exactly as registered.")
    added_at: datetime
    added_by: str = strawberry.field(description="Who registered it (a client, or `local`).")


@strawberry.type(description="Whether a client may send registered documents only.")
class TrustedDocumentsRequirement:
    client_id: str
    required: bool = strawberry.field(
        description=(
            "Only registered documents, by id. Running gateways apply a change within "
            "LIG_TRUSTED_DOCUMENTS_CACHE_SECONDS (10 s by default)."
        )
    )
    document_count: int = strawberry.field(
        description="Documents registered for the client (0 while required: all it sends fails)."
    )


def document(row: TrustedDocumentRow) -> TrustedDocument:
    return TrustedDocument(
        client_id=row.client_id,
        document_id=row.document_id,
        name=row.name,
        document=row.body,
        added_at=row.added_at,
        added_by=row.added_by,
    )
