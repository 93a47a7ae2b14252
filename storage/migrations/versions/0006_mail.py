"""mail: durable e-mail queue for escalations

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 10:00:00

One row per e-mail, written in the transaction that decides to send it and delivered by the
mailer with leases and backoff, like the Telegram outbox.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the mail table."""
    op.create_table(
        'mail',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('to_addrs', sa.JSON(), nullable=False),
        sa.Column('cc_addrs', sa.JSON(), nullable=False),
        sa.Column('subject', storage.types.VerbatimString(length=512), nullable=False),
        sa.Column('body_text', storage.types.VerbatimText(), nullable=False),
        sa.Column('body_html', storage.types.VerbatimText(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('not_before', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('lease_until', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('error', sa.String(length=256), nullable=True),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_mail_ticket_id_tickets')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mail')),
    )
    op.create_index('ix_mail_status_id', 'mail', ['status', 'id'], unique=False)


def downgrade() -> None:
    """Drop the mail table."""
    op.drop_index('ix_mail_status_id', table_name='mail')
    op.drop_table('mail')
