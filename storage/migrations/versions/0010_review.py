"""tickets: the steward whose resolution awaits review

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-08 10:00:00

Review before the customer hears it (审核): while a steward's proposed resolution waits for a
supervisor, the ticket names the steward. The note itself is on the history
(resolution_proposed). Null: nothing awaits review (every ticket before this revision).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the column."""
    # Plain ADD/DROP COLUMN, not batch mode: batch mode copies the tickets table, which the
    # history's foreign keys and its append-only rule refuse once tickets exist.
    op.add_column("tickets", sa.Column("review_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Drop it."""
    op.drop_column("tickets", "review_by")
