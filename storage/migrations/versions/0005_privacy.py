"""privacy: every FAQ log row has an owner, so it is shown, erased and purged with them

Revision ID: 0005_privacy
Revises: 0004_report_latest_rating
Create Date: 2026-12-07

What a person types at the home screen is kept in ``faq_log.query`` (names and phone numbers
included, at times). ``citizen_id`` says whose words they are: /dulieu counts them, erasure
blanks them, and a forwarded question is taken only from its asker's own rows. Rows written
before this revision have no owner; the daily retention job blanks their text in time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_privacy"
down_revision: str | None = "0004_report_latest_rating"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No foreign key: SQLite cannot add one without copying the table, and the column is only
    # ever compared with the citizen of the turn.
    op.add_column("faq_log", sa.Column("citizen_id", sa.Integer(), nullable=True))
    op.create_index("ix_faq_log_citizen_id", "faq_log", ["citizen_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_faq_log_citizen_id", table_name="faq_log")
    with op.batch_alter_table("faq_log", schema=None) as batch_op:
        batch_op.drop_column("citizen_id")
