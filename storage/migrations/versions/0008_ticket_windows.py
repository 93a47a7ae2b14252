"""tickets: the response windows promised at filing

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 17:20:00

Windows can be set per category; a ticket keeps the ones it was filed with, so a later change
of the configuration does not move a deadline already promised. Null means the desk's default
(tickets filed before this revision).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the two columns."""
    # Plain ADD/DROP COLUMN, not batch mode: batch mode copies the tickets table, which the
    # history's foreign keys and its append-only rule refuse once tickets exist.
    op.add_column("tickets", sa.Column("first_response_window", sa.String(32), nullable=True))
    op.add_column("tickets", sa.Column("reply_window", sa.String(32), nullable=True))


def downgrade() -> None:
    """Drop them."""
    op.drop_column("tickets", "reply_window")
    op.drop_column("tickets", "first_response_window")
