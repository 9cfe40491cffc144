"""law: second complaints, recorded decisions, and whom a denunciation is about

Revision ID: 0008_law
Revises: 0007_publish
Create Date: 2026-12-08

Issue #14. A second complaint (khiếu nại lần hai, Luật Khiếu nại 2011 Art. 33, 36, 37) is a
khieu_nai case with ``round`` 2 pointing at the first one (``parent_id``); it has its own
deadlines. ``decision_number`` and ``decision_date`` are the written decision the officer records
when resolving a complaint or denunciation (Art. 31, 32; Luật Tố cáo Art. 35). ``about`` is whom a
denunciation is about (Luật Tố cáo Art. 13), which decides who handles it. Rows before this
revision are first complaints with nothing recorded.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_law"
down_revision: str | None = "0007_publish"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No foreign key on parent_id: SQLite cannot add one without copying the table.
    op.add_column("cases", sa.Column("round", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("cases", sa.Column("parent_id", sa.Integer(), nullable=True))
    op.add_column("cases", sa.Column("decision_number", sa.String(length=64), nullable=True))
    op.add_column("cases", sa.Column("decision_date", sa.Date(), nullable=True))
    op.add_column("cases", sa.Column("about", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        for column in ("about", "decision_date", "decision_number", "parent_id", "round"):
            batch_op.drop_column(column)
