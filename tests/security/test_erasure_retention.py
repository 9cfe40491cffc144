"""Issue #12 item 6: erasure leaves no personal data behind, and nothing is kept forever.

- no phone number (or other personal data of the citizen) in a button's label or value, and
  no button of the chat left after /dulieu erasure;
- a denouncer's phone number is never offered for another petition;
- one daily retention job, scheduled once, purges expired tokens, old update claims, delivered
  outbox bodies, idle drafts and old free text;
- the identity on an open khiếu nại or tố cáo is kept on the legal-obligation basis (and /dulieu
  says so); the person may withdraw the petition instead, and the handling officers are told.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import select

from bot.app import App
from bot.scheduler import Scheduler, jobs, next_run
from bot.services import retention
from bot.services.cases import OPEN_STATUSES
from storage.models import (
    Case,
    CaseContact,
    CaseEvent,
    ChoiceToken,
    Citizen,
    Conversation,
    FaqFeedback,
    OutboxMessage,
    ProcessedUpdate,
    ReportRun,
)
from tests.helpers import Chat, FakeClock
from tests.test_officer import file_petition, notices, onboard

PHONE = "0912000111"


async def _rows(app: App, model: type) -> list:  # type: ignore[type-arg]
    async with app.db.unit_of_work() as uow:
        return list((await uow.session.exec(select(model))).all())


async def _phone_in_buttons(app: App, digits: str = PHONE[1:]) -> list[str]:
    """Every stored place a button keeps text: token labels and values, a conversation's options."""
    found = [f"{t.label} | {t.value}" for t in await _rows(app, ChoiceToken) if digits in t.label + t.value]
    found += [str(c.options) for c in await _rows(app, Conversation) if digits in str(c.options)]
    return found


async def _file_phan_anh_with_phone(chat: Chat) -> None:
    await chat.say("/start")
    await chat.press("Tôi đồng ý")
    await chat.say("/phananh")
    await chat.press("Phản ánh")
    await chat.press("Xã Long Sơn")
    await chat.say("Đèn đường ấp Sóc Ruộng hư đã hai tuần")
    await chat.press("Xong")
    await chat.say(PHONE)
    await chat.press("Gửi")
    assert "Đã tiếp nhận" in chat.text


async def test_no_phone_number_in_buttons_and_no_button_left_after_erasure(app: App) -> None:
    chat = Chat(app)
    await _file_phan_anh_with_phone(chat)
    await chat.say("/phananh")
    await chat.press("Phản ánh")
    await chat.press("Xã Long Sơn")
    await chat.say("Cống ấp Sóc Ruộng bị nghẹt")
    await chat.press("Xong")
    assert PHONE in chat.text  # the number is in the question, for the person to see
    assert any("Dùng số" in label for label in chat.labels)
    assert await _phone_in_buttons(app) == []
    await chat.say("/dulieu")
    await chat.press("Xóa thông tin cá nhân")
    await chat.press("Đồng ý xóa")
    assert await _phone_in_buttons(app) == []
    [citizen] = await _rows(app, Citizen)
    tokens = [t for t in await _rows(app, ChoiceToken) if t.chat_id == chat.user_id]
    assert citizen.phone is None
    # Only the menu shown with the confirmation remains.
    assert {t.value for t in tokens} <= {
        f"flow:{name}" for name in ("petition", "faq", "my_cases", "schedule", "privacy")
    }


async def test_a_denouncer_s_phone_is_not_offered_for_another_petition(app: App) -> None:
    chat = Chat(app, user_id="5100")
    await file_petition(app, chat, "Kim Hòa", kind="Tố cáo", text="Cán bộ xã thu tiền trái phép")
    [citizen] = await _rows(app, Citizen)
    assert citizen.phone is None
    await chat.say("/phananh")
    await chat.press("Phản ánh")
    await chat.press("Xã Long Sơn")
    await chat.say("Đường ấp bị ngập")
    await chat.press("Xong")
    assert "0909123456" not in "\n".join(chat.texts)
    assert not any("Dùng số" in label for label in chat.labels)
    assert await _phone_in_buttons(app, "909123456") == []


async def _file_complaint(chat: Chat) -> str:
    await chat.say("/start")
    await chat.press("Tôi đồng ý")
    await chat.say("/khieunai")
    await chat.press("Xã Kim Hòa")
    await chat.say("Tôi không đồng ý với quyết định thu hồi đất của xã")
    await chat.press("Xong")
    await chat.say("Thạch Thị Sa Ri")
    await chat.say(PHONE)
    await chat.say("ấp Bông Ven, xã Kim Hòa")
    await chat.press("Gửi")
    [case] = [c for c in await _rows(chat.app, Case) if c.citizen_id is not None]
    return case.code


async def test_erasure_keeps_the_identity_on_an_open_complaint_and_says_so(app: App) -> None:
    chat = Chat(app)
    code = await _file_complaint(chat)
    await chat.say("/dulieu")
    assert code in chat.text and "nghĩa vụ pháp lý" in chat.text
    await chat.press("Xóa thông tin cá nhân")
    assert code in chat.text  # the confirmation says what is kept
    await chat.press("Đồng ý xóa")
    assert code in chat.text and "được giữ" in chat.text
    [contact] = await _rows(app, CaseContact)
    [case] = await _rows(app, Case)
    [citizen] = await _rows(app, Citizen)
    assert (contact.full_name, contact.phone) == ("Thạch Thị Sa Ri", PHONE) and contact.erased_at is None
    assert not case.anonymous and case.status in OPEN_STATUSES
    assert citizen.phone is None and citizen.erased_at is not None


async def test_withdrawing_a_complaint_closes_it_and_tells_its_unit(app: App) -> None:
    people = await onboard(app)
    chat = Chat(app)
    code = await _file_complaint(chat)
    await chat.say("/dulieu")
    await chat.press(f"Rút đơn {code}")
    assert code in chat.text
    await chat.press("Đồng ý rút đơn")
    assert "đã rút" in chat.text.lower()
    [case] = await _rows(app, Case)
    assert case.status == "closed" and case.closed_at is not None
    assert "withdrawn" in [e.kind for e in await _rows(app, CaseEvent)]
    assert any("rút đơn" in n.text and code in n.text for n in await notices(app, people["officer_kh"]))
    await chat.say("/hoso")
    assert code in chat.text


async def test_withdrawing_a_denunciation_tells_only_the_inspectorate(app: App) -> None:
    people = await onboard(app)
    chat = Chat(app, user_id="5200")
    code = await file_petition(app, chat, "Kim Hòa", kind="Tố cáo", text="Cán bộ xã thu tiền trái phép")
    await chat.say("/hoso")
    await chat.press(code)
    await chat.press("Rút đơn")
    await chat.press("Đồng ý rút đơn")
    assert any("rút đơn" in n.text for n in await notices(app, people["inspector"]))
    assert not any("rút đơn" in n.text for n in await notices(app, people["officer_kh"]))


async def test_nobody_else_can_withdraw_a_case(app: App) -> None:
    owner = Chat(app)
    code = await _file_complaint(owner)
    await owner.say("/dulieu")
    [token] = [t for t in await _rows(app, ChoiceToken) if "withdraw" in t.value]
    other = Chat(app, user_id="6666")
    await other.say("/start")
    await other.press_token(token.token)  # a token of another chat is refused
    await other.say(f"/rutdon {code}")
    [case] = await _rows(app, Case)
    assert case.status in OPEN_STATUSES


async def test_the_daily_retention_job_purges_what_has_expired(app: App, clock: FakeClock) -> None:
    chat = Chat(app)
    await _file_phan_anh_with_phone(chat)
    await chat.say("tôi tên Lê Văn Gõ số 0987000111 hỏi về đất")  # free text kept in faq_log
    abandoned = Chat(app, user_id="7777")
    await abandoned.say("/start")
    await abandoned.press("Tôi đồng ý")
    await abandoned.say("/kiennghi")
    await abandoned.press("Xã Long Sơn")
    await abandoned.say("Nhà tôi ở ấp Chợ, tên Trần Văn Bỏ Dở")  # a draft, never sent
    async with app.db.unit_of_work() as uow:
        await uow.outbox.add(
            OutboxMessage(
                channel="console",
                chat_id="1",
                payload={"text": "Hồ sơ của Lê Văn A"},
                status="sent",
                created_at=clock.now,
                sent_at=clock.now,
            )
        )
    assert await _rows(app, ProcessedUpdate) and await _rows(app, ChoiceToken)
    async with app.db.unit_of_work() as uow:
        # Claims are stamped with the wall clock (the health check reads them); this test's clock
        # is a fake one, so they are dated to its now.
        await uow.session.exec(update(ProcessedUpdate).values(at=clock.now))  # type: ignore[call-overload]

    clock.advance(days=8)
    await retention.run_daily(app.db, app.services)
    assert [m.payload.get("text") for m in await _rows(app, OutboxMessage) if m.status == "sent"] == [""]
    assert not await _rows(app, ProcessedUpdate)  # claims older than a few days
    assert await _rows(app, Conversation)  # drafts idle for a week are kept

    clock.advance(days=30)
    await retention.run_daily(app.db, app.services)
    assert not await _rows(app, ChoiceToken)  # every button has expired
    assert not [c for c in await _rows(app, Conversation) if c.data]  # idle drafts are gone
    assert all(log.query for log in await _rows(app, FaqFeedback))  # free text kept 90 days

    clock.advance(days=60)
    await retention.run_daily(app.db, app.services)
    assert [(log.query, log.citizen_id) for log in await _rows(app, FaqFeedback)] == [("", None)]
    await retention.run_daily(app.db, app.services)  # the same day again: recorded once
    runs = [r for r in await _rows(app, ReportRun) if r.kind == "retention"]
    assert len(runs) == 3 and len({r.period for r in runs}) == 3


async def test_the_identity_on_a_closed_legal_case_is_erased_after_the_records_period(
    app: App, clock: FakeClock
) -> None:
    chat = Chat(app)
    await _file_complaint(chat)
    await chat.say("/dulieu")
    await chat.press("Rút đơn")
    await chat.press("Đồng ý rút đơn")
    await chat.say("/dulieu")
    await chat.press("Xóa thông tin cá nhân")
    await chat.press("Đồng ý xóa")
    clock.advance(days=365 * 4)
    await retention.run_daily(app.db, app.services)
    [contact] = await _rows(app, CaseContact)
    assert contact.full_name == "Thạch Thị Sa Ri"  # within the records period
    clock.advance(days=365 + 2)
    await retention.run_daily(app.db, app.services)
    [contact] = await _rows(app, CaseContact)
    assert (contact.full_name, contact.phone, contact.address) == (None, None, None)


async def test_the_retention_job_is_scheduled_once_a_night(app: App, clock: FakeClock) -> None:
    [job] = [job for job in jobs(app.config) if job.name == "retention"]
    local = next_run(job, clock()).astimezone(app.config.deployment.tz)
    assert local.strftime("%H:%M") == app.config.retention.time
    scheduler = Scheduler(app, jobs(app.config))
    await scheduler.run_due()
    await scheduler.run_due()  # a second look the same night runs nothing again
    assert [run.kind for run in await _rows(app, ReportRun) if run.kind == "retention"] == ["retention"]
