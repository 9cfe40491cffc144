"""reports: covering indexes, so that a report on a million cases reads indexes, not the table

Revision ID: 0003_report_covering
Revises: 0002_reports
Create Date: 2026-11-27

Each aggregation of storage/report_queries.py filters on one range and groups by (type,
unit_id): with every column it needs in the index, SQLite answers from the index alone. The
expressions (finish moment, due date) are written exactly as the queries write them.

* cases by receipt: (received_at, type, unit_id)
* cases by finish: (coalesce(resolved_at, closed_at), status, coalesce(final_due, first_due),
  received_at, type, unit_id, resolved_at, closed_at, final_due, first_due), which replaces
  0002's ix_cases_finished_at
* open cases: (status, coalesce(final_due, first_due), received_at, type, unit_id, final_due,
  first_due)
* ratings by time: (at, case_id, score, solved), which replaces 0002's ix_ratings_at
* FAQ questions by time: (at, outcome, entry_id, forwarded_case_id, helpful)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_report_covering"
down_revision: str | None = "0002_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FINISHED = sa.text("coalesce(resolved_at, closed_at)")
DUE = sa.text("coalesce(final_due, first_due)")
# After the expressions, the plain columns the queries read: SQLite (before 3.41) can answer
# from an index alone only when every column a query names is in it.
FINISHED_COVER = ("status", "coalesce(final_due, first_due)", "received_at", "type", "unit_id", "resolved_at",
                  "closed_at", "final_due", "first_due")  # fmt: skip
OPEN_COVER = ("received_at", "type", "unit_id", "final_due", "first_due")


def _columns(names: Sequence[str]) -> list[sa.TextClause]:
    return [sa.text(name) for name in names]


def upgrade() -> None:
    op.drop_index("ix_cases_finished_at", table_name="cases")
    op.drop_index("ix_ratings_at", table_name="ratings")
    op.create_index("ix_cases_received_cover", "cases", ["received_at", "type", "unit_id"])
    op.create_index("ix_cases_finished_cover", "cases", [FINISHED, *_columns(FINISHED_COVER)])
    op.create_index("ix_cases_open_cover", "cases", [sa.text("status"), DUE, *_columns(OPEN_COVER)])
    op.create_index("ix_ratings_at_cover", "ratings", ["at", "case_id", "score", "solved"])
    op.create_index("ix_faq_log_at_cover", "faq_log", ["at", "outcome", "entry_id", "forwarded_case_id", "helpful"])


def downgrade() -> None:
    op.drop_index("ix_faq_log_at_cover", table_name="faq_log")
    op.drop_index("ix_ratings_at_cover", table_name="ratings")
    op.drop_index("ix_cases_open_cover", table_name="cases")
    op.drop_index("ix_cases_finished_cover", table_name="cases")
    op.drop_index("ix_cases_received_cover", table_name="cases")
    op.create_index("ix_ratings_at", "ratings", ["at"])
    op.create_index("ix_cases_finished_at", "cases", [FINISHED])
