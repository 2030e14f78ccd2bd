"""OAuth clients, signing keys and revoked tokens; the audit hash chain, made append-only

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = gateway.models.base.UTCDateTime()

# The columns of an event that its hash covers and that nobody may change once it is stored.
_CONTENT = (
    "id",
    "at",
    "request_id",
    "client_id",
    "agency",
    "kind",
    "action",
    "purpose",
    "result_count",
    "outcome",
)
_JSON_CONTENT = ("subjects", "fields")


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("agency_code", sa.String(32), nullable=False),
        sa.Column("profile", sa.String(32), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("region_code", sa.CHAR(12), nullable=True),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("secret_rotated_at", _UTC, nullable=True),
        sa.Column("revoked_at", _UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_code"], ["agencies.code"], name=op.f("fk_oauth_clients_agency_code_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_oauth_clients_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_oauth_clients")),
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("private_jwk", sa.Text(), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("retired_at", _UTC, nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
    )
    op.create_index(op.f("ix_signing_keys_retired_at"), "signing_keys", ["retired_at"])
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("expires_at", _UTC, nullable=False),
        sa.Column("revoked_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_tokens")),
    )
    op.create_index(op.f("ix_revoked_tokens_client_id"), "revoked_tokens", ["client_id"])
    op.create_index(op.f("ix_revoked_tokens_expires_at"), "revoked_tokens", ["expires_at"])

    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="CHANGE"))
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.create_unique_constraint(op.f("uq_audit_events_seq"), ["seq"])
    # The sealer's question every few seconds: which events are not sealed yet, in id order. A
    # partial index keeps the answer as cheap with a billion sealed events as with none.
    unsealed = sa.text("seq IS NULL")
    op.create_index(
        "ix_audit_events_unsealed",
        "audit_events",
        ["id"],
        postgresql_where=unsealed,
        sqlite_where=unsealed,
    )
    op.create_table(
        "audit_seals",
        sa.Column("first_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("sealed_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("first_seq", name=op.f("pk_audit_seals")),
    )
    _append_only_triggers()


def _append_only_triggers() -> None:
    """Refuse DELETE on audit events, and any UPDATE but the sealer's one-time fill of the chain.

    A database owner can still drop the triggers; the hash chain is what detects that
    (`lig audit verify`). The triggers stop accidents and ordinary application bugs.
    """
    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(
            [f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _CONTENT]
            + [f"NEW.{c}::text IS DISTINCT FROM OLD.{c}::text" for c in _JSON_CONTENT]
        )
        op.execute(
            f"""
            CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION 'audit_events is append-only: event % cannot be deleted',
                        OLD.id;
                END IF;
                IF OLD.hash IS NOT NULL OR {changed} THEN
                    RAISE EXCEPTION 'audit_events is append-only: event % cannot be changed',
                        OLD.id;
                END IF;
                RETURN NEW;
            END
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
        op.execute(
            """
            CREATE FUNCTION audit_seals_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_seals is append-only: seal % cannot be changed',
                    OLD.first_seq;
            END
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals "
            "FOR EACH ROW EXECUTE FUNCTION audit_seals_append_only()"
        )
        return
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in (*_CONTENT, *_JSON_CONTENT))
    op.execute(
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN "
        "SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    )
    op.execute(
        f"CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        f"WHEN OLD.hash IS NOT NULL OR {changed} BEGIN "
        "SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_seals_no_change BEFORE UPDATE ON audit_seals BEGIN "
        "SELECT RAISE(ABORT, 'audit_seals is append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_seals_no_delete BEFORE DELETE ON audit_seals BEGIN "
        "SELECT RAISE(ABORT, 'audit_seals is append-only'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_seals_append_only ON audit_seals")
        op.execute("DROP FUNCTION audit_seals_append_only()")
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    else:
        for name in (
            "audit_seals_no_delete",
            "audit_seals_no_change",
            "audit_events_no_update",
            "audit_events_no_delete",
        ):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("audit_seals")
    op.drop_index("ix_audit_events_unsealed", table_name="audit_events")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint(op.f("uq_audit_events_seq"), type_="unique")
        batch.drop_column("seq")
        batch.drop_column("kind")
    op.drop_index(op.f("ix_revoked_tokens_expires_at"), table_name="revoked_tokens")
    op.drop_index(op.f("ix_revoked_tokens_client_id"), table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
    op.drop_index(op.f("ix_signing_keys_retired_at"), table_name="signing_keys")
    op.drop_table("signing_keys")
    op.drop_table("oauth_clients")
