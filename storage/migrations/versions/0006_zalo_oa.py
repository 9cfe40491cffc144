"""zalo oa: reply-window presence and OAuth tokens

Revision ID: 0006_zalo_oa
Revises: 0005_privacy
Create Date: 2026-12-07

chat_presence: when a person last wrote on a channel with a reply window (the Zalo OA answers
freely for 48 hours, at all for 7 days), and whether they unfollowed; the outbox holds what it
may not send. oauth_tokens: the OA's access and refresh tokens, rotated by refreshing them, with
the claim that makes a refresh token be sent at most once (see bot/transports/zalo_oa_tokens.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0006_zalo_oa"
down_revision: str | None = "0005_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_presence",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("last_inbound_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("unfollowed_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("channel", "chat_id"),
    )
    op.create_table(
        "oauth_tokens",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("access_expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("refresh_expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("refresh_claim", sa.String(length=40), nullable=True),
        sa.Column("refresh_claimed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("problem", sa.String(length=500), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("oauth_tokens")
    op.drop_table("chat_presence")
