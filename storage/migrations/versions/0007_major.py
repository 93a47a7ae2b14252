"""customers: the VIP flag staff set (/vip), which makes their complaints major from the start

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:00:00

Major complaints (重大投诉, PROCESS.md §4): a VIP or influential complainant goes straight to
a supervisor. The flag is the customer's, not a ticket's, so their next complaint is major too.
Existing customers are not VIP.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add customers.vip (false for everyone so far)."""
    op.add_column('customers', sa.Column('vip', sa.Boolean(), nullable=False,
                                         server_default=sa.false()))


def downgrade() -> None:
    """Drop it."""
    # Plain DROP COLUMN (SQLite ≥ 3.35 has it), not batch mode, which would copy the table.
    op.drop_column('customers', 'vip')
