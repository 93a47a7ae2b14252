"""outbox: find a chat's newest message of a purpose (the listening prompt whose button moves)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:45:00

While a customer tells the story the "That's all" button stays on one prompt: the previous
prompt's button is removed when a new one is sent, which needs that prompt's message id. A
partial index keeps the look-up a seek however large the outbox grows, and costs nothing on the
many rows that have no purpose.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHERE = sa.text("purpose IS NOT NULL")


def upgrade() -> None:
    """Add the partial index."""
    op.create_index("ix_outbox_chat_purpose", "outbox", ["chat_id", "purpose", "id"],
                    sqlite_where=_WHERE, postgresql_where=_WHERE)


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_outbox_chat_purpose", table_name="outbox")
