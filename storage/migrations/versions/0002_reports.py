"""reports: indexes for the Nội vụ reports

Revision ID: 0002_reports
Revises: 0001
Create Date: 2026-11-27

The reports aggregate cases by when they were received (ix_cases_received_at exists), by when
they were finished, and ratings by when they were given. The finish moment is an expression,
coalesce(resolved_at, closed_at), indexed as such on both SQLite and PostgreSQL; the queries in
storage/report_queries.py use the very same expression so that the planner can use the index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_reports"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cases_finished_at", "cases", [sa.text("coalesce(resolved_at, closed_at)")])
    op.create_index("ix_ratings_at", "ratings", ["at"])


def downgrade() -> None:
    op.drop_index("ix_ratings_at", table_name="ratings")
    op.drop_index("ix_cases_finished_at", table_name="cases")
