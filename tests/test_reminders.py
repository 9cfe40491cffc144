"""Morning reminders and escalation, sent exactly once a day, at seven, even across a restart."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import select

from bot.app import App
from bot.scheduler import Scheduler, jobs, next_run
from bot.services.reminders import run_daily
from bot.text import plain_text
from storage.models import ReportRun
from tests.helpers import Chat, FakeClock
from tests.test_officer import file_petition, notices, onboard


async def test_due_soon_reminders_and_overdue_escalation(app: App, clock: FakeClock) -> None:
    people = await onboard(app)
    code = await file_petition(app, Chat(app, user_id="5101"), "Kim Hòa")  # Fri 27/11/2026, due Fri 11/12
    tocao = await file_petition(app, Chat(app, user_id="5102"), "Kim Hòa", kind="Tố cáo", text="Nhận hối lộ")
    before = {name: len(await notices(app, chat)) for name, chat in people.items()}

    # Wed 9/12: two working days before the deadline.
    clock.now = datetime(2026, 12, 9, 0, 0, tzinfo=UTC)
    assert await run_daily(app.db, app.services, date(2026, 12, 9)) == 3
    fresh = {name: (await notices(app, chat))[before[name] :] for name, chat in people.items()}
    for name in ("officer_kh", "lead_kh"):
        [reminder] = fresh[name]
        text = plain_text(reminder.text)
        assert "1 hồ sơ sắp đến hạn" in text and code in text and "11/12/2026" in text
        assert tocao not in text  # a denunciation never reaches the commune
    [inspector] = fresh["inspector"]  # tố cáo: classify within 7 working days, due Tue 8/12, overdue on 9/12
    assert tocao in plain_text(inspector.text)
    assert fresh["officer_mh"] == [] and fresh["noivu"] == []

    # Running again the same day (a restart) sends nothing more.
    assert await run_daily(app.db, app.services, date(2026, 12, 9)) == 0

    # Mon 14/12: overdue; the unit lead and the district admins hear of it, not the officer again.
    counts = {name: len(await notices(app, chat)) for name, chat in people.items()}
    clock.now = datetime(2026, 12, 14, 0, 0, tzinfo=UTC)
    await run_daily(app.db, app.services, date(2026, 12, 14))
    fresh = {name: (await notices(app, chat))[counts[name] :] for name, chat in people.items()}
    assert any("quá hạn" in plain_text(m.text) and code in plain_text(m.text) for m in fresh["lead_kh"])
    [escalated] = fresh["noivu"]
    assert code in plain_text(escalated.text) and tocao not in plain_text(escalated.text)
    assert fresh["officer_kh"] == []


async def test_unrated_resolved_case_is_closed_after_a_week(app: App, clock: FakeClock) -> None:
    people = await onboard(app)
    code = await file_petition(app, Chat(app, user_id="5103"), "Mỹ Hòa")
    officer = people["officer_mh"]
    await officer.say(f"/xem {code}")
    await officer.press("Giải quyết xong")
    await officer.say("Đã xử lý xong")
    clock.advance(days=8)
    await run_daily(app.db, app.services, app.services.deadlines.local_date(clock()))
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
    assert case is not None and case.status == "closed"


async def test_reminders_run_at_seven_on_working_days_and_not_long_after(app: App, clock: FakeClock) -> None:
    """The scheduler's reminder job: due at 07:00 local; a start more than six hours later does
    not send that morning's reminders (they would come in the afternoon), the next morning does."""
    [job] = [job for job in jobs(app.config) if job.name == "reminders"]
    tz = app.config.deployment.tz
    assert next_run(job, datetime(2026, 12, 1, 7, 0, tzinfo=tz)) == datetime(2026, 12, 2, 7, 0, tzinfo=tz)
    clock.now = datetime(2026, 12, 1, 13, 30, tzinfo=tz).astimezone(UTC)  # a Tuesday, 6 h 30 late
    scheduler = Scheduler(app, [job])
    await scheduler.run_due()
    assert await _reminder_days(app) == []
    clock.now = datetime(2026, 12, 2, 7, 0, 5, tzinfo=tz).astimezone(UTC)
    await scheduler.run_due()
    await Scheduler(app, [job]).run_due()  # a restart a moment later: sent already
    assert await _reminder_days(app) == ["2026-12-02"]


async def _reminder_days(app: App) -> list[str]:
    async with app.db.unit_of_work() as uow:
        rows = (await uow.session.exec(select(ReportRun).where(ReportRun.kind == "reminders"))).all()
    return [row.period for row in rows]
