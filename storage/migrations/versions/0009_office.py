"""office: a staff member's e-mail address, for the notices their chat could not take

Revision ID: 0009_office
Revises: 0008_law
Create Date: 2026-12-08

A staff member on Zalo who blocked the bot, or whose Telegram is unreachable, still gets the
new cases, reminders and escalations meant for them by e-mail (/email sets the address).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_office"
down_revision: str | None = "0008_law"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("staff", sa.Column("email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("email")
