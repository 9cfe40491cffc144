"""Logging for every command: text for people, one JSON object per line for collectors.

``python -m bot --log-format json ...`` writes lines like::

    {"time": "2026-11-27T02:00:00.123Z", "level": "INFO", "logger": "bot.cli", "message": "...", "case": "CN-2026-00001"}

with any ``extra={...}`` fields of the call as further keys, and ``exception``
when a traceback is attached. ``text`` (the default) is the same on one line,
extra fields appended as ``key=value``.

No personal data in logs. Log messages name things by id (case id and code,
outbox message id, channel and chat id), never by what people wrote: no
message text, name, phone number, address or case description. Two places
could still leak them, and both are closed here or in ``storage/db.py``:

* libraries that log payloads at DEBUG (python-telegram-bot logs every Bot
  API result, aiosqlite every statement with its parameters, SQLAlchemy the
  parameters of every query): their loggers are held at INFO or WARNING
  whatever the verbosity, so ``--verbose`` only opens our own loggers;
* database errors, whose text would quote the statement's parameters: the
  engines are created with ``hide_parameters=True``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

Format = Literal["text", "json"]
FORMATS: tuple[Format, ...] = ("text", "json")

# Third-party loggers and the most they may say, whatever --verbose asks.
LIBRARY_LEVELS: dict[str, int] = {
    "telegram": logging.INFO,  # DEBUG dumps every update and Bot API result
    "httpx": logging.WARNING,  # INFO logs request URLs, which hold the bot token
    "httpcore": logging.WARNING,
    "aiohttp": logging.INFO,
    "aiosqlite": logging.WARNING,  # DEBUG logs statements with their parameters
    "asyncpg": logging.WARNING,
    "sqlalchemy": logging.WARNING,  # INFO logs statements, DEBUG result rows
    "tornado": logging.INFO,
    "matplotlib": logging.WARNING,
    "PIL": logging.WARNING,
}

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_OURS = "_tiepdan_handler"


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra=`` fields of a record."""
    return {key: value for key, value in record.__dict__.items() if key not in _STANDARD and not key.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extras = extra_fields(record)
        if extras:
            line += " " + " ".join(f"{key}={value}" for key, value in extras.items())
        return line


def setup(log_format: Format = "text", *, verbose: bool = False, stream: TextIO | None = None) -> logging.Handler:
    """Send log records to ``stream`` (stderr) in ``log_format``; DEBUG for our loggers if ``verbose``.

    Calling it again replaces the handler it installed before. Returns the handler.
    """
    if log_format not in FORMATS:
        raise ValueError(f"unknown log format {log_format!r} (expected one of {', '.join(FORMATS)})")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    setattr(handler, _OURS, True)
    root = logging.getLogger()
    for previous in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name, level in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(level)
    return handler
