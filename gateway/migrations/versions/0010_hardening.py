"""Hardening: rate-limit buckets shared by every process, and trusted documents

Revision ID: 0010
Revises: 0009

A client's requests are limited by a token bucket kept here, so that every gateway process and
host draws on the same one (gateway/ratelimit). A client may be restricted to the GraphQL
documents registered for it, sent by id (gateway/documents).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.models.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("client_id", sa.String(length=80), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_rate_buckets")),
    )
    op.create_table(
        "trusted_documents",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=71), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("added_at", gateway.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_clients.client_id"],
            name=op.f("fk_trusted_documents_client_id_oauth_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "document_id", name=op.f("pk_trusted_documents")),
    )
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(
            sa.Column(
                "trusted_documents_only", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("trusted_documents_only")
    op.drop_table("trusted_documents")
    op.drop_table("rate_buckets")
