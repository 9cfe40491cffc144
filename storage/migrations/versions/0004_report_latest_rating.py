"""reports: the latest rating of a case from an index

Revision ID: 0004_report_latest_rating
Revises: 0003_report_covering
Create Date: 2026-11-27

The case list shows each case's latest rating: ``ORDER BY id DESC LIMIT 1`` among the case's
ratings, once per row (tens of thousands of rows a week on a million cases). With only
ix_ratings_case_id, PostgreSQL fetches the case's ratings from the table and sorts them for
every row; (case_id, id, score, solved) gives the latest one from the index alone, on both
SQLite and PostgreSQL.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_report_latest_rating"
down_revision: str | None = "0003_report_covering"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ratings_case_latest", "ratings", ["case_id", "id", "score", "solved"])


def downgrade() -> None:
    op.drop_index("ix_ratings_case_latest", table_name="ratings")
