"""staff group: followed migrations, unreachable groups, tickets handed over by DM

Revision ID: 0003_staff_group
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0003_staff_group'
down_revision: str | None = '0002'
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
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('handoff_failed_at')
    with op.batch_alter_table('staff_chats', schema=None) as batch_op:
        batch_op.drop_column('retries')
        batch_op.drop_column('problem_since')
        batch_op.drop_column('problem')
        batch_op.drop_column('migrated_to')
