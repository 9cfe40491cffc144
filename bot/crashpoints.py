"""Named crash points, so the crash tests can kill the bot at an exact place.

Why this module exists: the promises "a confirmed case is never lost", "an update is processed
once" and "a notice is delivered" are about what survives ``kill -9`` at the worst moment. A kill
timed from outside lands wherever the scheduler happens to be; these points make it land exactly
between two steps that matter (after a commit and before the send that reports it, after a send
and before it is recorded...). ``tests/test_crash.py`` sets::

    TIEPDAN_CRASH_AT=<label>:<n>

and the process ends with ``os._exit(137)`` (no cleanup, no flush, no rollback: what SIGKILL
does) the n-th time it passes ``reached(label)``. With the variable unset, as in production,
``reached`` is one comparison. ``TIEPDAN_CRASH_LOG=<path>`` appends one line per crash (label,
count, detail, and the outbox messages that were on their way to their channel or accepted but
not yet recorded, which the outbox reports with ``window_opened``/``window_closed``): a kill can
repeat those and no others, so a test may allow exactly those duplicates.

Points (see docs/reliability.md for what each one proves):

* ``telegram.received``: an update was fetched, nothing is committed yet;
* ``telegram.committed``: the engine committed the update's effects, no reply was sent;
* ``telegram.sent``: one reply message was accepted by Telegram (detail: its index);
* ``telegram.replied``: every reply was sent, the update is not yet acknowledged to Telegram;
* ``outbox.sending``: an outbox message is about to be handed to its channel;
* ``outbox.sent``: the channel accepted it, the row does not yet say so (the duplicate window);
* ``outbox.recorded``: the outcome of the attempt is committed;
* ``zalo_oa.received`` / ``zalo_oa.committed``: an OA webhook event was verified / its effects
  committed, the webhook not yet answered;
* ``zalo_oa.refresh_claimed``: the OA's refresh is claimed in the database, the refresh token not
  yet sent; ``zalo_oa.refresh_answered``: Zalo issued the new pair (the old refresh token is
  used up), not yet saved; ``zalo_oa.refresh_saved``: the new pair is committed
  (``tests/test_zalo_oa_tokens.py`` kills at the first two);
* ``report.flushed`` / ``report.committed``: a scheduled report's ``report_runs`` row and its
  outbox messages are written but not committed / committed (hooked on the ORM session, so the
  reports code needs no call of its own).
"""

from __future__ import annotations

import os
from typing import Any

ENV = "TIEPDAN_CRASH_AT"
LOG_ENV = "TIEPDAN_CRASH_LOG"
EXIT_CODE = 137  # what a shell reports for a process killed by SIGKILL


def _parse(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    label, _, count = value.rpartition(":")
    if not label or not count.isdigit() or int(count) < 1:
        raise SystemExit(f"{ENV} must look like <label>:<n> with n >= 1, not {value!r}")
    return label, int(count)


_target: tuple[str, int] | None = None
_passes = 0
_report_points = False
_window: set[int] = set()


def configure(spec: str | None) -> None:
    """Arm the point ``spec`` ("<label>:<n>"; None disarms). Read from the environment at import;
    a process forked from a warm interpreter (the crash tests' fork server) calls it again."""
    global _target, _passes, _report_points
    _target = _parse(spec)
    _passes = 0
    if _target is not None and _target[0].startswith("report.") and not _report_points:
        _install_report_points()
        _report_points = True


def armed() -> bool:
    return _target is not None


def reached(label: str, detail: object = "") -> None:
    """Count one pass through ``label``; die here if this is the pass the test asked for."""
    global _passes
    if _target is None or label != _target[0]:
        return
    _passes += 1
    if _passes < _target[1]:
        return
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{label}\t{_passes}\t{detail}\t{','.join(map(str, sorted(_window)))}\n")
    os._exit(EXIT_CODE)


def window_opened(message_id: int) -> None:
    """An outbox message is on its way to its channel; its row will not say so until closed."""
    if _target is not None:
        _window.add(message_id)


def window_closed(message_id: int) -> None:
    """The outbox message's row now says sent."""
    _window.discard(message_id)


def _install_report_points() -> None:
    """Fire ``report.flushed`` / ``report.committed`` around the commit of a scheduled report run."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from storage.models import ReportRun

    def after_flush(session: Session, _context: Any) -> None:
        if any(isinstance(obj, ReportRun) and obj.status == "sent" for obj in (*session.new, *session.dirty)):
            session.info["crash_report_run"] = True

    def before_commit(session: Session) -> None:
        if session.info.get("crash_report_run"):
            reached("report.flushed")

    def after_commit(session: Session) -> None:
        if session.info.pop("crash_report_run", False):
            reached("report.committed")

    event.listen(Session, "after_flush", after_flush)
    event.listen(Session, "before_commit", before_commit)
    event.listen(Session, "after_commit", after_commit)


configure(os.environ.get(ENV))
