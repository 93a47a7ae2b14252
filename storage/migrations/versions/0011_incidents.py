"""incidents, incident_broadcasts, tickets.incident_id: group incidents (群体性投诉)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:00:00

PROCESS.md §4: many complaints on one matter in a short time are one incident — one crisis
alert to management, one consistent answer for all. An incident groups tickets; a broadcast is
a manager's update to every customer of one, held from its preview until it is confirmed.
Existing tickets are in no incident.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime, VerbatimString, VerbatimText

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the two tables and link tickets to incidents."""
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("area", VerbatimString(128), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_ticket_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("alert_sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.BigInteger(), nullable=True),
        sa.Column("resolution", VerbatimText(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(op.f("ix_incidents_status"), "incidents", ["status"])
    op.create_table(
        "incident_broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("text", VerbatimText(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_incident_broadcasts_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_broadcasts")),
    )
    op.create_index(op.f("ix_incident_broadcasts_incident_id"), "incident_broadcasts",
                    ["incident_id"])
    # Plain ADD COLUMN, not batch mode: batch mode copies the tickets table, which the
    # history's foreign keys and its append-only rule refuse once tickets exist. SQLite cannot
    # add a constraint to an existing table, but takes the reference as part of the new column.
    fk = op.f("fk_tickets_incident_id_incidents")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE tickets ADD COLUMN incident_id INTEGER "
                   f"CONSTRAINT {fk} REFERENCES incidents (id)")
    else:
        op.add_column("tickets", sa.Column("incident_id", sa.Integer(), nullable=True))
        op.create_foreign_key(fk, "tickets", "incidents", ["incident_id"], ["id"])
    op.create_index(op.f("ix_tickets_incident_id"), "tickets", ["incident_id"])
    # Every filing looks up the recent tickets of its category.
    op.create_index("ix_tickets_category_created", "tickets", ["category", "created_at"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_tickets_category_created", table_name="tickets")
    op.drop_index(op.f("ix_tickets_incident_id"), table_name="tickets")
    # Plain DROP COLUMN (SQLite ≥ 3.35), not batch mode, which would copy the table; the
    # column's reference goes with it on SQLite, and by name first on PostgreSQL.
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_tickets_incident_id_incidents"), "tickets",
                           type_="foreignkey")
    op.drop_column("tickets", "incident_id")
    op.drop_index(op.f("ix_incident_broadcasts_incident_id"), table_name="incident_broadcasts")
    op.drop_table("incident_broadcasts")
    op.drop_index(op.f("ix_incidents_status"), table_name="incidents")
    op.drop_table("incidents")
