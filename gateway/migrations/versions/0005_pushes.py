"""Agency pushes: receipts, idempotency keys, revisions of events, records named by ID number

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A household's record will name one of its members; a household without any cannot be
    # migrated. Say so before any change (SQLite's DDL is not transactional here).
    orphans = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT count(*) FROM assistance_records a WHERE a.person_id IS NULL AND NOT "
                "EXISTS (SELECT 1 FROM memberships m WHERE m.household_id = a.household_id)"
            )
        )
        .scalar_one()
    )
    if orphans:
        raise RuntimeError(
            f"{orphans} household assistance records belong to households without any member; "
            "add the members (or delete the records) and run the migration again"
        )
    op.create_table(
        "push_receipts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("ASSISTANCE_RECORDS", "EVENTS", name="pushkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("items_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "transport",
            sa.Enum(
                "GRAPHQL",
                "JSON",
                "NDJSON",
                "FEED",
                name="pushtransport",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("all_or_nothing", sa.Boolean(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("duplicate", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", gateway.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_code"], ["agencies.code"], name=op.f("fk_push_receipts_agency_code_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_receipts")),
        sa.UniqueConstraint(
            "client_id", "idempotency_key", name=op.f("uq_push_receipts_client_id_idempotency_key")
        ),
    )
    op.create_table(
        "push_receipt_items",
        sa.Column("receipt_id", sa.String(length=32), nullable=False),
        sa.Column("item_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "ACCEPTED",
                "DUPLICATE",
                "REJECTED",
                name="pushoutcome",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("item_key", sa.String(length=64), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["push_receipts.id"],
            name=op.f("fk_push_receipt_items_receipt_id_push_receipts"),
        ),
        sa.PrimaryKeyConstraint("receipt_id", "item_index", name=op.f("pk_push_receipt_items")),
    )
    with op.batch_alter_table("assistance_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id_number", sa.CHAR(length=18), nullable=True))
        batch_op.add_column(
            sa.Column(
                "applies_to",
                sa.Enum(
                    "PERSON", "HOUSEHOLD", name="assistancesubject", native_enum=False, length=32
                ),
                nullable=False,
                server_default="PERSON",
            )
        )
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("receipt_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("receipt_index", sa.Integer(), nullable=True))
    # Records now name their person by ID number, as events do: a person's record names that
    # person; a household's record names its head (or, failing one, a current member).
    op.execute(
        "UPDATE assistance_records SET id_number = "
        "(SELECT p.id_number FROM persons p WHERE p.id = assistance_records.person_id) "
        "WHERE person_id IS NOT NULL"
    )
    op.execute(
        "UPDATE assistance_records SET applies_to = 'HOUSEHOLD', id_number = "
        "(SELECT p.id_number FROM memberships m JOIN persons p ON p.id = m.person_id "
        "WHERE m.household_id = assistance_records.household_id "
        "ORDER BY m.left_on IS NOT NULL, m.relation <> 'SELF', m.id LIMIT 1) "
        "WHERE person_id IS NULL"
    )
    with op.batch_alter_table("assistance_records", schema=None) as batch_op:
        batch_op.alter_column("id_number", existing_type=sa.CHAR(length=18), nullable=False)
        batch_op.drop_constraint(batch_op.f("ck_assistance_records_has_subject"), type_="check")
        batch_op.create_index(
            "ix_assistance_records_receipt", ["receipt_id", "receipt_index"], unique=False
        )
        batch_op.create_index(
            "ix_assistance_records_unmatched",
            ["id_number"],
            unique=False,
            postgresql_where=sa.text("household_id IS NULL"),
            sqlite_where=sa.text("household_id IS NULL"),
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_assistance_records_receipt_id_push_receipts"),
            "push_receipts",
            ["receipt_id"],
            ["id"],
        )

    with op.batch_alter_table("monitoring_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(
            sa.Column("is_current", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("receipt_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("receipt_index", sa.Integer(), nullable=True))
        batch_op.drop_constraint(
            batch_op.f("uq_monitoring_events_agency_code_agency_event_id"), type_="unique"
        )
        batch_op.create_index(
            "ix_monitoring_events_receipt", ["receipt_id", "receipt_index"], unique=False
        )
        batch_op.create_index(
            "ix_monitoring_events_unmatched",
            ["id_number"],
            unique=False,
            postgresql_where=sa.text("household_id IS NULL"),
            sqlite_where=sa.text("household_id IS NULL"),
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_monitoring_events_agency_code_agency_event_id_revision"),
            ["agency_code", "agency_event_id", "revision"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_monitoring_events_receipt_id_push_receipts"),
            "push_receipts",
            ["receipt_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("monitoring_events", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_monitoring_events_receipt_id_push_receipts"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("uq_monitoring_events_agency_code_agency_event_id_revision"), type_="unique"
        )
        batch_op.drop_index(
            "ix_monitoring_events_unmatched",
            postgresql_where=sa.text("household_id IS NULL"),
            sqlite_where=sa.text("household_id IS NULL"),
        )
        batch_op.drop_index("ix_monitoring_events_receipt")
        batch_op.create_unique_constraint(
            batch_op.f("uq_monitoring_events_agency_code_agency_event_id"),
            ["agency_code", "agency_event_id"],
        )
        batch_op.drop_column("receipt_index")
        batch_op.drop_column("receipt_id")
        batch_op.drop_column("content_hash")
        batch_op.drop_column("is_current")
        batch_op.drop_column("revision")

    with op.batch_alter_table("assistance_records", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_assistance_records_receipt_id_push_receipts"), type_="foreignkey"
        )
        batch_op.drop_index(
            "ix_assistance_records_unmatched",
            postgresql_where=sa.text("household_id IS NULL"),
            sqlite_where=sa.text("household_id IS NULL"),
        )
        batch_op.drop_index("ix_assistance_records_receipt")
        batch_op.drop_column("receipt_index")
        batch_op.drop_column("receipt_id")
        batch_op.drop_column("content_hash")
        batch_op.drop_column("applies_to")
        batch_op.drop_column("id_number")
        batch_op.create_check_constraint(
            batch_op.f("ck_assistance_records_has_subject"),
            "household_id IS NOT NULL OR person_id IS NOT NULL",
        )

    op.drop_table("push_receipt_items")
    op.drop_table("push_receipts")
