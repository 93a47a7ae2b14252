"""tickets: the follow-up's rating and the steward a repeat complaint does not go back to

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00

The follow-up (回访) a week after resolution records how satisfied the customer is (a 1-5
equivalent and the button's label); a ticket reopened as a repeat complaint remembers who had
it when it was resolved, so that person does not claim it again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the three columns (null for every ticket so far)."""
    # Plain ADD COLUMN, not batch mode: batch mode copies the tickets table, which the
    # history's foreign keys and its append-only rule refuse once tickets exist.
    op.add_column("tickets", sa.Column("rating", sa.Integer(), nullable=True))
    op.add_column("tickets", sa.Column("rating_label", sa.String(16), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot ALTER a constraint in, but takes a reference on a new null column.
        op.execute("ALTER TABLE tickets ADD COLUMN resolver_id BIGINT REFERENCES staff (id)")
    else:
        op.add_column("tickets", sa.Column(
            "resolver_id", sa.BigInteger(),
            sa.ForeignKey("staff.id", name="fk_tickets_resolver_id_staff"), nullable=True))


def downgrade() -> None:
    """Drop them."""
    op.drop_column("tickets", "resolver_id")
    op.drop_column("tickets", "rating_label")
    op.drop_column("tickets", "rating")
