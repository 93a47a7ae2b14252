"""ticket_history is append-only: the database refuses UPDATE and DELETE (and TRUNCATE)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 14:05:00

The history is the evidence a complaint desk keeps (who did what, when). The application only
ever inserts into it; these triggers make that a property of the database, so neither a bug, a
hand-typed statement in a SQL shell, nor a compromised process can rewrite it quietly.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "ticket_history is append-only"

_SQLITE = [
    f"""CREATE TRIGGER ticket_history_no_update BEFORE UPDATE ON ticket_history
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER ticket_history_no_delete BEFORE DELETE ON ticket_history
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]

_POSTGRES = [
    f"""CREATE FUNCTION ticket_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
        END $$""",
    """CREATE TRIGGER ticket_history_no_change BEFORE UPDATE OR DELETE ON ticket_history
        FOR EACH ROW EXECUTE FUNCTION ticket_history_append_only()""",
    # Row triggers do not see TRUNCATE; a statement trigger does.
    """CREATE TRIGGER ticket_history_no_truncate BEFORE TRUNCATE ON ticket_history
        FOR EACH STATEMENT EXECUTE FUNCTION ticket_history_append_only()""",
]


def upgrade() -> None:
    """Apply this revision."""
    for statement in _SQLITE if op.get_context().dialect.name == "sqlite" else _POSTGRES:
        op.execute(statement)


def downgrade() -> None:
    """Revert this revision."""
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ticket_history_no_delete")
        op.execute("DROP TRIGGER IF EXISTS ticket_history_no_update")
        return
    op.execute("DROP TRIGGER IF EXISTS ticket_history_no_truncate ON ticket_history")
    op.execute("DROP TRIGGER IF EXISTS ticket_history_no_change ON ticket_history")
    op.execute("DROP FUNCTION IF EXISTS ticket_history_append_only()")
