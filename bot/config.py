"""Configuration: one TOML file, a few environment overrides, one-line errors.

The file is found from ``--config PATH``, else ``$TIEPDAN_CONFIG``, else
``config.toml`` in the working directory, else the built-in defaults, which are
exactly what ``config.example.toml`` says. Secrets and the database URL can come
from the environment so that they stay out of the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_CONFIG = "TIEPDAN_CONFIG"
ENV_TOKEN = "TIEPDAN_TELEGRAM_TOKEN"
ENV_DATABASE_URL = "TIEPDAN_DATABASE_URL"
ENV_ZALO_TOKEN = "TIEPDAN_ZALO_TOKEN"
ENV_ZALO_OA_APP_SECRET = "TIEPDAN_ZALO_OA_APP_SECRET"
ENV_ZALO_OA_SECRET_KEY = "TIEPDAN_ZALO_OA_SECRET_KEY"
ENV_ZALO_OA_REFRESH_TOKEN = "TIEPDAN_ZALO_OA_REFRESH_TOKEN"
ENV_EMAIL_PASSWORD = "TIEPDAN_EMAIL_PASSWORD"


class ConfigError(Exception):
    """A configuration problem, phrased as one line that names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeploymentConfig(_Section):
    name: str = "UBND huyện Cầu Ngang"
    case_prefix: str = Field(default="CN", pattern=r"^[A-Z0-9]{1,8}$")
    timezone: str = "Asia/Ho_Chi_Minh"
    units_profile: str = "caungang-2022"
    language: Literal["vi", "en"] = "vi"
    data_dir: str = "data"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class DatabaseConfig(_Section):
    url: str = "sqlite:///var/tiepdan.db"

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("expected a sqlite:/// or postgresql:// URL")
        return value


class TelegramConfig(_Section):
    token: str = ""
    base_url: str = ""
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)


class ZaloConfig(_Section):
    enabled: bool = False
    token: str = ""
    base_url: str = "https://bot-api.zaloplatforms.com"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8444, ge=1, le=65535)


# What a template notice may carry (never a case's content): fact -> the template's parameter name.
ZNS_DEFAULT_PARAMS = {"case_code": "case_code", "status": "status", "unit": "unit"}


class ZaloOaConfig(_Section):
    """A Zalo Official Account (OA API v3, OAuth v4): see docs/zalo-oa.md."""

    enabled: bool = False
    app_id: str = ""
    app_secret: str = ""  # the Zalo app's secret key (OAuth); or TIEPDAN_ZALO_OA_APP_SECRET
    oa_secret_key: str = ""  # signs webhook events; or TIEPDAN_ZALO_OA_SECRET_KEY
    access_token: str = ""  # first access token; refreshed automatically, then kept in the database
    refresh_token: str = ""  # first refresh token (single use, rotated); or TIEPDAN_ZALO_OA_REFRESH_TOKEN
    api_base: str = "https://openapi.zalo.me"
    oauth_base: str = "https://oauth.zaloapp.com"
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8445, ge=1, le=65535)
    webhook_path: str = Field(default="/zalo-oa", pattern=r"^/")
    # The callback registered in the app's console, for `python -m bot zalo-oa authorize`.
    redirect_uri: str = ""
    # How long after a person's last message the OA may still answer: 168 h (7 days) is the API's
    # limit (error -230 after); replies after 48 h are billed, so 48 keeps every answer free.
    reply_window_hours: float = Field(default=168.0, gt=0, le=168.0)
    # Refresh the access token (25 h) when less than this is left.
    refresh_before_hours: float = Field(default=5.0, gt=0, lt=25.0)
    # `health` fails when the refresh token (3 months) expires within this many days.
    refresh_warn_days: float = Field(default=14.0, ge=0)
    # A notice about a case for someone outside the reply window goes as this approved ZBS/ZNS
    # template to the phone number the person gave for the case; empty: it is held instead.
    zns_template_id: str = ""
    zns_base: str = "https://business.openapi.zalo.me"
    # The template's parameter names (each template has its own): what tiepdan fills -> the name
    # in the template. Only these three facts exist; an empty name leaves one out.
    zns_params: dict[str, str] = Field(default_factory=lambda: dict(ZNS_DEFAULT_PARAMS))

    @field_validator("zns_params")
    @classmethod
    def _known_params(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(ZNS_DEFAULT_PARAMS))
        if unknown:
            raise ValueError(f"unknown template facts {unknown}: only {sorted(ZNS_DEFAULT_PARAMS)}")
        return value


class EmailConfig(_Section):
    """The SMTP server that sends reports, and the notices a staff member's chat could not take."""

    host: str = ""  # empty: no e-mail
    port: int = Field(default=587, ge=1, le=65535)
    username: str = ""
    password: str = ""  # or TIEPDAN_EMAIL_PASSWORD
    from_address: str = ""
    starttls: bool = True  # upgrade a plain connection (port 587)
    ssl: bool = False  # implicit TLS from the start (port 465); overrides starttls
    timeout_seconds: float = Field(default=30.0, gt=0)

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.from_address)


class AdminsConfig(_Section):
    """The bootstrap super-admins, by channel: the ids each channel gives the person."""

    telegram_ids: list[int] = Field(default_factory=list)
    zalo_ids: list[str] = Field(default_factory=list)
    zalo_oa_ids: list[str] = Field(default_factory=list)
    # The console is the server's own terminal: ``python -m bot console --as admin`` is its operator.
    console_ids: list[str] = Field(default_factory=lambda: ["admin"])

    def ids(self, channel: str) -> set[str]:
        """The super-admins' user ids on one channel."""
        by_channel: dict[str, list[int] | list[str]] = {
            "telegram": self.telegram_ids,
            "zalo": self.zalo_ids,
            "zalo_oa": self.zalo_oa_ids,
            "console": self.console_ids,
        }
        return {str(user) for user in by_channel.get(channel, [])}

    def chats(self) -> set[tuple[str, str]]:
        """(channel, chat id) of every super-admin on a chat channel, for notices nobody else can take.

        The console's operator is left out: nobody reads a console chat when nobody sits at it.
        In a private chat the chat id is the user id on every channel.
        """
        return {(channel, user) for channel in ("telegram", "zalo", "zalo_oa") for user in self.ids(channel)}


class DialogConfig(_Section):
    draft_ttl_hours: int = Field(default=24, ge=1)
    button_ttl_days: int = Field(default=14, ge=1)
    # Flood limit per person and channel (officers and the console are not limited); 0 turns it off.
    rate_limit_messages: int = Field(default=12, ge=0)
    rate_limit_seconds: float = Field(default=10.0, gt=0)


class ReportsConfig(_Section):
    """Digests and statutory reports for Nội vụ (issue 5); times are in deployment.timezone."""

    weekly_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    weekly_time: str = Field(default="07:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    report_time: str = Field(default="07:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # Due dates (MM-DD) of the six-month and annual reports; each covers period_start up to the day before.
    half_year_due: str = Field(default="06-10", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
    annual_due: str = Field(default="11-25", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
    period_start: str = Field(default="01-01", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
    # Extra recipients as "channel:chat_id" (the active district admins always receive them).
    chats: list[str] = Field(default_factory=list)
    # E-mail addresses that receive the digest and the reports with their files (needs [email]).
    emails: list[str] = Field(default_factory=list)
    out_dir: str = "var/reports"
    catch_up_days: int = Field(default=30, ge=0)
    # Issuing body as printed at the top left (Nghị định 30/2020): the parent body (optional,
    # not bold) and the issuing body's lines (bold).
    issuer_parent: str = ""
    issuer: list[str] = Field(default_factory=lambda: ["ỦY BAN NHÂN DÂN", "HUYỆN CẦU NGANG"])
    symbol: str = "BC-UBND"
    place: str = "Cầu Ngang"
    recipients: list[str] = Field(default_factory=lambda: ["Phòng Nội vụ (để báo cáo);", "Lưu: VT."])
    signer_title: str = "CHỦ TỊCH"
    signer_name: str = ""

    @field_validator("chats")
    @classmethod
    def _chat_form(cls, value: list[str]) -> list[str]:
        for chat in value:
            channel, _, chat_id = chat.partition(":")
            if not channel or not chat_id:
                raise ValueError(f"expected 'channel:chat_id', got {chat!r}")
        return value

    @field_validator("emails")
    @classmethod
    def _email_form(cls, value: list[str]) -> list[str]:
        for address in value:
            if not is_email_address(address):
                raise ValueError(f"not an e-mail address: {address!r}")
        return value


class RemindersConfig(_Section):
    """Morning reminders to officers before legal deadlines pass, and escalation of overdue cases."""

    time: str = Field(default="07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    within_working_days: int = Field(default=2, ge=0, le=10)
    close_unrated_after_days: int = Field(default=7, ge=1)


class OutboxConfig(_Section):
    """Pacing of queued messages (notices, digests, reports): every channel together, and per chat."""

    messages_per_second: float = Field(default=30.0, gt=0)
    chat_interval_seconds: float = Field(default=1.0, ge=0)


class RetentionConfig(_Section):
    """How long personal data that is no longer needed is kept; one daily job purges the rest.

    The periods and why they are what they are: docs/deployment.md, "Retention".
    """

    time: str = Field(default="03:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    draft_days: int = Field(default=30, ge=1)  # an idle conversation (a draft's name, phone, address)
    faq_text_days: int = Field(default=90, ge=1)  # the words typed to the FAQ
    processed_update_days: int = Field(default=3, ge=1)  # claims against a channel redelivering
    outbox_body_days: int = Field(default=7, ge=1)  # delivered or given-up notices' text
    legal_records_years: int = Field(default=5, ge=1)  # contact on a closed khiếu nại / tố cáo


class SupplementsConfig(_Section):
    """What a citizen may add to one case after "Yêu cầu bổ sung", and how often officers hear of it."""

    max_parts_per_case: int = Field(default=50, ge=1)
    max_attachments_per_case: int = Field(default=30, ge=0)  # the petition's own photos count
    notice_window_minutes: int = Field(default=5, ge=0)  # 0: a notice for every part


class WebConfig(_Section):
    """The public transparency page and Open311 API (bot/web, docs/web.md)."""

    enabled: bool = False  # also serve it beside `python -m bot run`
    listen: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    base_url: str = ""  # the public address, e.g. https://minhbach.example.gov.vn (links, Open311 discovery)
    # OpenStreetMap-style tile URL with {z}/{x}/{y}; empty: the map is a plot of points without tiles.
    tile_url: str = ""
    tile_attribution: str = "© OpenStreetMap contributors"
    refresh_minutes: float = Field(default=10.0, gt=0)  # how often the cached figures are recomputed


class Config(_Section):
    deployment: DeploymentConfig = DeploymentConfig()
    database: DatabaseConfig = DatabaseConfig()
    telegram: TelegramConfig = TelegramConfig()
    zalo: ZaloConfig = ZaloConfig()
    zalo_oa: ZaloOaConfig = ZaloOaConfig()
    admins: AdminsConfig = AdminsConfig()
    email: EmailConfig = EmailConfig()
    dialog: DialogConfig = DialogConfig()
    deadlines: dict[str, Any] = Field(default_factory=dict)
    reports: ReportsConfig = ReportsConfig()
    reminders: RemindersConfig = RemindersConfig()
    outbox: OutboxConfig = OutboxConfig()
    retention: RetentionConfig = RetentionConfig()
    supplements: SupplementsConfig = SupplementsConfig()
    web: WebConfig = WebConfig()

    @property
    def data_path(self) -> Path:
        return Path(self.deployment.data_dir)


_EMAIL = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


def is_email_address(text: str) -> bool:
    """A plain address (name@domain.tld), nothing an SMTP header could be led astray by."""
    return len(text) <= 254 and _EMAIL.match(text) is not None


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{key}: {message}"


def from_mapping(data: dict[str, Any], *, source: str = "config") -> Config:
    """Validate a parsed TOML document, raising :class:`ConfigError` with one line."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc)}") from None


def _apply_environment(data: dict[str, Any], environ: dict[str, str] | os._Environ[str]) -> dict[str, Any]:
    overrides = {
        ENV_TOKEN: ("telegram", "token"),
        ENV_DATABASE_URL: ("database", "url"),
        ENV_ZALO_TOKEN: ("zalo", "token"),
        ENV_ZALO_OA_APP_SECRET: ("zalo_oa", "app_secret"),
        ENV_ZALO_OA_SECRET_KEY: ("zalo_oa", "oa_secret_key"),
        ENV_ZALO_OA_REFRESH_TOKEN: ("zalo_oa", "refresh_token"),
        ENV_EMAIL_PASSWORD: ("email", "password"),
    }
    for variable, (section, key) in overrides.items():
        value = environ.get(variable)
        if value:
            data.setdefault(section, {})[key] = value
    return data


def find_config_file(explicit: str | None, environ: dict[str, str] | os._Environ[str]) -> Path | None:
    if explicit:
        return Path(explicit)
    if environ.get(ENV_CONFIG):
        return Path(environ[ENV_CONFIG])
    default = Path("config.toml")
    return default if default.exists() else None


def load(path: str | None = None, environ: dict[str, str] | os._Environ[str] | None = None) -> Config:
    """Load the configuration the way the CLI does."""
    env = os.environ if environ is None else environ
    file = find_config_file(path, env)
    data: dict[str, Any] = {}
    source = "built-in defaults"
    if file is not None:
        source = str(file)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{file}: file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML ({exc})") from None
    return from_mapping(_apply_environment(data, env), source=source)
