"""publish: answers a citizen allowed to be published, once an officer approves them

Revision ID: 0007_publish
Revises: 0006_zalo_oa
Create Date: 2026-12-08

The public transparency page (bot/web) lists questions and answers without anyone's identity.
A row appears here when the citizen, rating their case, allows it (``consent_at``); it is shown
only once an officer of the case's unit approves it (``approved_at``), and then it shows the
texts copied at approval (``question``, ``answer``, phone numbers masked), never the case's
live description. Erasure of the citizen's data deletes the row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0007_publish"
down_revision: str | None = "0006_zalo_oa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "published_answers",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("consent_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("approved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
    )
    op.create_index("ix_published_answers_approved_at", "published_answers", ["approved_at"])


def downgrade() -> None:
    op.drop_index("ix_published_answers_approved_at", table_name="published_answers")
    op.drop_table("published_answers")
