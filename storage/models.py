"""The tables of tiepdan, as SQLModel classes.

This module knows nothing of chat platforms: a "channel" is just a string and
chat ids are strings (Zalo's are). Denouncers' identities live in their own
table (:class:`CaseContact`) so that case content can be shown, counted and
exported without them. Case events are append-only: the history of a case is
the list of its events, never an edited row.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class Unit(SQLModel, table=True):
    """An administrative unit or office a case can be routed to, in one map (profile)."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("profile", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    profile: str = Field(max_length=40, index=True)
    code: str = Field(max_length=40)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)  # xa | thi_tran | phong_ban | thanh_tra | cong_an | ngoai (outside)
    parent_code: str | None = Field(default=None, max_length=40)
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    valid_from: date | None = None
    valid_to: date | None = None
    successor_profile: str | None = Field(default=None, max_length=40)
    successor_code: str | None = Field(default=None, max_length=40)
    near: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    remote: bool = False
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=300)


class ReceptionSlot(SQLModel, table=True):
    """One regular citizen-reception session of a unit (Luật Tiếp công dân, Art. 15 and 24)."""

    __tablename__ = "reception_slots"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="units.id", index=True)
    weekday: int  # 0 = Monday
    start: str = Field(max_length=5)
    end: str = Field(max_length=5)
    host: str = Field(max_length=200)
    place: str = Field(max_length=300)
    note: str = Field(default="", max_length=500)


class Citizen(SQLModel, table=True):
    """A person writing to the bot on one channel."""

    __tablename__ = "citizens"
    __table_args__ = (UniqueConstraint("channel", "channel_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    channel_user_id: str = Field(max_length=64)
    chat_id: str = Field(max_length=64)
    display_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    language: str = Field(default="vi", max_length=5)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Case(SQLModel, table=True):
    """A petition: phản ánh, kiến nghị, khiếu nại, tố cáo, or a question forwarded to an officer."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("year", "seq"),
        Index("ix_cases_unit_status_due", "unit_id", "status", "first_due"),
        Index("ix_cases_received_at", "received_at"),
        Index("ix_cases_status_final_due", "status", "final_due"),
        # Covering indexes for the reports (migration 0003_report_covering).
        Index("ix_cases_received_cover", "received_at", "type", "unit_id"),
        Index(
            "ix_cases_finished_cover",
            *(
                text(column)
                for column in ("coalesce(resolved_at, closed_at)", "status", "coalesce(final_due, first_due)")
            ),
            *(text(column) for column in ("received_at", "type", "unit_id", "resolved_at", "closed_at")),
            *(text(column) for column in ("final_due", "first_due")),
        ),
        Index(
            "ix_cases_open_cover",
            *(text(column) for column in ("status", "coalesce(final_due, first_due)", "received_at", "type")),
            *(text(column) for column in ("unit_id", "final_due", "first_due")),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    year: int
    seq: int
    type: str = Field(max_length=20, index=True)
    status: str = Field(max_length=20)
    unit_id: int = Field(foreign_key="units.id")
    citizen_id: int = Field(foreign_key="citizens.id", index=True)
    channel: str = Field(max_length=20)
    chat_id: str = Field(max_length=64)
    description: str = Field(sa_column=Column(Text, nullable=False))
    latitude: float | None = None
    longitude: float | None = None
    attachments: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    anonymous: bool = False
    remote: bool = False
    complex_case: bool = False
    received_at: datetime = Field(sa_type=UTCDateTime)
    first_due: date
    final_due: date | None = None
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_reply_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    extensions: int = 0
    result: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Migration 0008_law. A second complaint (khiếu nại lần hai, Luật Khiếu nại Art. 33, 36, 37)
    # is a khieu_nai case with round 2 and parent_id the first one.
    round: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    parent_id: int | None = None
    # The written decision (quyết định giải quyết, Luật KN Art. 31; kết luận, Luật TC Art. 35)
    # or the written acceptance notice, as the officer recorded it: its number and date.
    decision_number: str | None = Field(default=None, max_length=64)
    decision_date: date | None = None
    # Whom a denunciation is about (Luật Tố cáo Art. 13): "officer", "leaders", "other", None.
    about: str | None = Field(default=None, max_length=20)


class CaseContact(SQLModel, table=True):
    """Who filed a case and how to reach them, kept apart from the case content.

    For a denunciation this is the denouncer's identity (Luật Tố cáo, Art. 9):
    only the inspectorate may read it.
    """

    __tablename__ = "case_contacts"

    case_id: int = Field(foreign_key="cases.id", primary_key=True)
    full_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=300)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CaseEvent(SQLModel, table=True):
    """One thing that happened to a case. Rows are only ever inserted."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case", "case_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_kind: str = Field(max_length=20)  # citizen | officer | system
    actor_id: int | None = None
    kind: str = Field(max_length=30)
    visibility: str = Field(max_length=10)  # public | internal
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Rating(SQLModel, table=True):
    """A citizen's rating of how their case was handled (SIPAS-style aspects optional)."""

    __tablename__ = "ratings"
    __table_args__ = (
        Index("ix_ratings_at_cover", "at", "case_id", "score", "solved"),
        # A case's latest rating from the index alone (migration 0004_report_latest_rating).
        Index("ix_ratings_case_latest", "case_id", "id", "score", "solved"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    score: int
    solved: bool = True
    aspects: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PublishedAnswer(SQLModel, table=True):
    """A question and its answer the citizen allowed to be published without their identity.

    Shown on the public page only once an officer of the case's unit approved it; the texts are
    copied at approval (phone numbers masked), so later edits of the case never leak out.
    """

    __tablename__ = "published_answers"

    case_id: int = Field(foreign_key="cases.id", primary_key=True)
    consent_at: datetime = Field(sa_type=UTCDateTime)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    approved_by: int | None = None  # staff.id
    question: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Staff(SQLModel, table=True):
    """An officer, unit lead, inspector or district admin, bound to a chat account."""

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("channel", "channel_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    channel_user_id: str = Field(max_length=64)
    chat_id: str = Field(max_length=64)
    display_name: str | None = Field(default=None, max_length=200)
    role: str = Field(max_length=20)  # district_admin | unit_lead | officer | inspector
    unit_id: int | None = Field(default=None, foreign_key="units.id", index=True)
    active: bool = True
    joined_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    left_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Where the notices this chat could not take go (/email); needs [email] configured.
    email: str | None = Field(default=None, max_length=254)


class Invite(SQLModel, table=True):
    """A one-time, expiring code that binds whoever sends it to a role in a unit."""

    __tablename__ = "invites"

    code: str = Field(primary_key=True, max_length=32)
    unit_id: int | None = Field(default=None, foreign_key="units.id")
    role: str = Field(max_length=20)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_by: int | None = Field(default=None, foreign_key="staff.id")
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """Every officer action, allowed or refused."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    channel: str = Field(max_length=20)
    actor: str = Field(max_length=64)
    staff_id: int | None = None
    action: str = Field(max_length=40)
    target: str | None = Field(default=None, max_length=64)
    allowed: bool
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class FaqRecord(SQLModel, table=True):
    """A FAQ entry: loaded from data/faq, or added by an officer (learning loop)."""

    __tablename__ = "faq_entries"

    id: str = Field(primary_key=True, max_length=80)
    topic: str = Field(max_length=100)
    title: str = Field(max_length=300)
    questions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Questions officers added (learning loop); reloading data files never touches them.
    extra_questions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    answer: str = Field(sa_column=Column(Text, nullable=False))
    legal_basis: str = Field(default="", max_length=500)
    level: str = Field(default="", max_length=200)
    verified_on: date
    source: str = Field(max_length=500)
    origin: str = Field(default="file", max_length=20)  # file | officer
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FaqFeedback(SQLModel, table=True):
    """What people asked the FAQ and how it went, for the learning loop and reports."""

    __tablename__ = "faq_log"
    __table_args__ = (Index("ix_faq_log_at_cover", "at", "outcome", "entry_id", "forwarded_case_id", "helpful"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    channel: str = Field(max_length=20)
    # Whose words these are: shown in /dulieu and erased with it (None for rows before 0005).
    citizen_id: int | None = Field(default=None, index=True)  # citizens.id (no FK: see 0005_privacy)
    # Blanked by erasure and by the retention job; outcome and entry stay for the statistics.
    query: str = Field(sa_column=Column(Text, nullable=False))
    outcome: str = Field(max_length=20)  # answer | unsure | none
    entry_id: str | None = Field(default=None, max_length=80)
    helpful: bool | None = None
    forwarded_case_id: int | None = Field(default=None, foreign_key="cases.id")


class Conversation(SQLModel, table=True):
    """Where a chat stands in a flow. Saved in the same transaction as the step's effects."""

    __tablename__ = "conversations"

    channel: str = Field(primary_key=True, max_length=20)
    chat_id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(max_length=64)
    flow: str | None = Field(default=None, max_length=40)
    step: str | None = Field(default=None, max_length=40)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    options: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChoiceToken(SQLModel, table=True):
    """A button's opaque id, resolved server-side; bound to one chat and expiring."""

    __tablename__ = "choice_tokens"

    token: str = Field(primary_key=True, max_length=24)
    channel: str = Field(max_length=20)
    chat_id: str = Field(max_length=64)
    batch: str = Field(max_length=24, index=True)
    position: int
    label: str = Field(max_length=200)
    value: str = Field(max_length=200)
    flow: str | None = Field(default=None, max_length=40)
    step: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class ProcessedUpdate(SQLModel, table=True):
    """Inbound updates already handled: the key that makes delivery exactly-once."""

    __tablename__ = "processed_updates"

    channel: str = Field(primary_key=True, max_length=20)
    update_id: str = Field(primary_key=True, max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class OutboxMessage(SQLModel, table=True):
    """A message to send later, written in the same transaction as its cause."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_chat", "channel", "chat_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    chat_id: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # pending | sent | failed | cancelled (its recipient left the staff) | held (outside the
    # channel's reply window, or the person unfollowed: released to pending when the person next
    # writes; see bot/outbox.py)
    status: str = Field(default="pending", max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    case_id: int | None = Field(default=None, foreign_key="cases.id")


class Counter(SQLModel, table=True):
    """Named sequences, e.g. the yearly case number."""

    __tablename__ = "counters"

    name: str = Field(primary_key=True, max_length=40)
    value: int = 0


class ReportRun(SQLModel, table=True):
    """A scheduled digest or report: recorded so that it is sent exactly once."""

    __tablename__ = "report_runs"
    __table_args__ = (UniqueConstraint("kind", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    period: str = Field(max_length=40)
    status: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ChatPresence(SQLModel, table=True):
    """When a person last wrote on a channel that may answer only for a while after that (Zalo OA).

    Kept only for channels that declare a reply window (``Services.reply_windows``). The outbox
    holds a message to someone whose last message is older than the window, or who unfollowed.
    """

    __tablename__ = "chat_presence"

    channel: str = Field(primary_key=True, max_length=20)
    chat_id: str = Field(primary_key=True, max_length=64)
    last_inbound_at: datetime = Field(sa_type=UTCDateTime)
    unfollowed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OAuthTokens(SQLModel, table=True):
    """A channel account's OAuth tokens (the Zalo OA), rotated by refreshing them.

    The refresh token works once: ``refresh_claim`` is written and committed before it is sent,
    and cleared in the transaction that stores the new pair. A claim found later means a refresh
    was interrupted: the old refresh token may be burnt, so it is not sent again (``problem``).
    """

    __tablename__ = "oauth_tokens"

    name: str = Field(primary_key=True, max_length=40)
    access_token: str = Field(sa_column=Column(Text, nullable=False))
    access_expires_at: datetime = Field(sa_type=UTCDateTime)
    refresh_token: str = Field(sa_column=Column(Text, nullable=False))
    refresh_expires_at: datetime = Field(sa_type=UTCDateTime)
    refresh_claim: str | None = Field(default=None, max_length=40)
    refresh_claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    problem: str | None = Field(default=None, max_length=500)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
