"""/email: a staff member's address for the notices their chat could not take.

Why: a chat channel can fail for good (the officer blocked the bot on Zalo, Telegram is cut
off); new cases, reminders and escalations must still reach the officer. With an address set,
the outbox e-mails what it gave up on (bot/outbox.py). ``/email ten@xa.gov.vn`` sets it,
``/email`` shows it, ``/email xoa`` removes it.
"""

from __future__ import annotations

from bot.config import is_email_address
from bot.dialog.flow import Flow, Turn, done
from bot.dialog.types import Next
from bot.services.cases import ECHO_MAX, excerpt
from bot.text import fold
from handlers.officer import refuse

flow = Flow("staff_email", entry="command", commands=("email",), staff_only=True)

_REMOVE = ("xoa", "remove", "delete", "bo")


@flow.step("command")
async def command(turn: Turn) -> Next:
    staff = turn.staff
    if staff is None:
        # A bootstrap super-admin has no staff record to hold an address.
        return await refuse(turn, "email", None)
    text = turn.inbound.args.strip() or (turn.arg or "").strip()
    if not text:
        if staff.email:
            return done(turn.say("staff_email.current", address=staff.email))
        return done(turn.say("staff_email.usage"))
    if fold(text) in _REMOVE:
        staff.email = None
        await turn.uow.staff.save(staff)
        await turn.audit("email", None, detail={"removed": True})
        return done(turn.say("staff_email.removed"))
    if not is_email_address(text):
        return done(turn.say("staff_email.invalid", address=excerpt(text, ECHO_MAX)))
    staff.email = text
    await turn.uow.staff.save(staff)
    await turn.audit("email", None)
    key = "staff_email.saved" if turn.services.config.email.enabled else "staff_email.saved_not_configured"
    return done(turn.say(key, address=text))
