"""staff group: followed migrations, unreachable groups, tickets handed over by DM

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('staff_chats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('migrated_to', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('problem', sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column('problem_since',
                                      storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retries', sa.Integer(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handoff_failed_at',
                                      storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    # Plain DROP COLUMN (SQLite ≥ 3.35 has it), not batch mode: batch mode copies and drops
    # the tickets table, which the history's foreign keys (and its append-only rule) refuse
    # once tickets exist.
    op.drop_column('tickets', 'handoff_failed_at')
    for column in ('retries', 'problem_since', 'problem', 'migrated_to'):
        op.drop_column('staff_chats', column)
