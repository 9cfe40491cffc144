"""Outside the Zalo OA's reply window: a ZNS template to the case's phone number, or held (issue 16,
item 4); an exhausted quota tells the administrators (item 5).

The real transport and outbox run against the fake OA (its ZNS endpoint included) and the fake
Zalo Bot Platform, with the test clock moved past the 7-day window.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.dialog.types import Reply
from bot.services import notify
from bot.services.cases import QUOTA_ALERT_KIND
from bot.text import international_phone
from storage.models import Case, CaseContact, OutboxMessage, ReportRun, Staff, Unit
from tests.fakes.zalo_api import FakeZalo
from tests.fakes.zalo_oa_api import FakeZaloOa, OaCitizen
from tests.helpers import FakeClock
from tests.test_zalo_oa import _consent, _queue_notice, file_petition
from tests.test_zalo_transport import _wait_for_row
from tests.zalo_helpers import ZaloCitizen, running_zalo
from tests.zalo_oa_helpers import OaBot, running_oa

TEMPLATE = "318472"
PARAMS = {"case_code": "ma_ho_so", "status": "tinh_trang", "unit": "don_vi"}
SUPER_ADMIN = ("telegram", "900001")  # tests.conftest.make_config's admins.telegram_ids


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeZaloOa]:
    async with FakeZaloOa(clock=clock) as server:
        server.zns_templates[TEMPLATE] = set(PARAMS.values())
        yield server


@pytest.fixture
async def bot(database_url: str, clock: FakeClock, fake: FakeZaloOa) -> AsyncIterator[OaBot]:
    zns = {"zns_template_id": TEMPLATE, "zns_base": fake.url, "zns_params": PARAMS}
    async with running_oa(database_url, clock, fake, **zns) as running:
        yield running


async def _filed_case(bot: OaBot, citizen: OaCitizen) -> Case:
    await _consent(citizen)
    await file_petition(citizen)
    # The citizen gave a phone number and templates are configured: told how updates reach them.
    await citizen.fake.next_containing(citizen.user_id, "thông báo Zalo gửi tới số điện thoại", 0)
    [case] = await bot.rows(Case)
    return case


async def _rows(bot: OaBot, status: str) -> list[OutboxMessage]:
    return [row for row in await bot.rows(OutboxMessage) if row.status == status]


async def _alerts(bot: OaBot) -> list[OutboxMessage]:
    return [row for row in await bot.rows(OutboxMessage) if "hết hạn mức" in row.payload.get("text", "")]


def test_phone_numbers_are_written_the_international_way() -> None:
    assert international_phone("0912 345 678") == "84912345678"
    assert international_phone("+84 912.345.678") == "84912345678"
    assert international_phone("84912345678") == "84912345678"
    assert international_phone("02963 123 456") == "842963123456"  # a landline: Zalo will refuse (-108/-118)
    assert international_phone("+1 415 555 0100") is None
    assert international_phone("12345") is None
    assert international_phone(None) is None


async def test_outside_the_window_a_notice_goes_as_a_zns_template_to_the_case_phone(
    bot: OaBot, fake: FakeZaloOa, clock: FakeClock
) -> None:
    citizen = OaCitizen(fake)
    case = await _filed_case(bot, citizen)
    clock.advance(days=8)
    await _queue_notice(bot, case, "Đã thông cống xong, mời bạn kiểm tra.")
    [body] = fake.zns_sent
    [row] = [row for row in await bot.rows(OutboxMessage) if "thông cống" in row.payload.get("text", "")]
    [fresh] = await bot.rows(Case)
    [unit] = [unit for unit in await bot.rows(Unit) if unit.id == fresh.unit_id]
    assert body == {
        "phone": "84912345678",  # the citizen typed "0912 345 678"
        "template_id": TEMPLATE,
        "template_data": {"ma_ho_so": fresh.code, "tinh_trang": "Đã tiếp nhận", "don_vi": unit.name},
        "tracking_id": str(row.id),
    }
    assert row.status == "sent" and str(row.payload["sent_as"]).startswith("template:")
    assert not any("thông cống" in m.text for m in fake.messages(citizen.user_id))  # not on the OA
    assert await _rows(bot, "held") == []


async def test_without_a_phone_number_the_notice_is_held(bot: OaBot, fake: FakeZaloOa, clock: FakeClock) -> None:
    citizen = OaCitizen(fake)
    case = await _filed_case(bot, citizen)
    async with bot.app.db.unit_of_work() as uow:
        contact = await uow.session.get(CaseContact, case.id)
        assert contact is not None
        contact.phone = None
        uow.session.add(contact)
    clock.advance(days=8)
    await _queue_notice(bot, case, "Đã thông cống xong, mời bạn kiểm tra.")
    [held] = await _rows(bot, "held")
    assert held.case_id == case.id and fake.zns_sent == []
    await citizen.say("alo")  # delivered in full when the person writes again
    await citizen.expect("Đã thông cống xong, mời bạn kiểm tra.")


async def test_a_zns_error_holds_the_notice(bot: OaBot, fake: FakeZaloOa, clock: FakeClock) -> None:
    citizen = OaCitizen(fake)
    case = await _filed_case(bot, citizen)
    clock.advance(days=8)
    fake.zns_fail_next.append(-118)  # "no Zalo account for this phone number"
    await _queue_notice(bot, case, "Đã thông cống xong, mời bạn kiểm tra.")
    [held] = await _rows(bot, "held")
    assert held.last_error is not None and "-118" in held.last_error
    assert fake.zns_sent == [] and await _alerts(bot) == []  # not a quota: nobody alerted
    await citizen.say("alo")
    await citizen.expect("Đã thông cống xong, mời bạn kiểm tra.")


async def test_an_exhausted_zns_quota_holds_and_tells_the_admins_once_a_day(
    bot: OaBot, fake: FakeZaloOa, clock: FakeClock
) -> None:
    citizen = OaCitizen(fake)
    case = await _filed_case(bot, citizen)
    async with bot.app.db.unit_of_work() as uow:  # a district admin on the OA: not told there
        await uow.staff.save(Staff(channel="zalo_oa", channel_user_id="77", chat_id="77", role="district_admin"))
    clock.advance(days=8)
    fake.zns_quota = 0
    await _queue_notice(bot, case, "Đã thông cống xong, mời bạn kiểm tra.")
    await _queue_notice(bot, case, "Mời bạn đánh giá việc giải quyết.")
    assert len(await _rows(bot, "held")) == 2
    [alert] = await _alerts(bot)
    assert (alert.channel, alert.chat_id) == SUPER_ADMIN and alert.case_id is None
    assert "zalo_oa" in alert.payload["text"] and case.code not in alert.payload["text"]
    assert [run.period for run in await bot.rows(ReportRun) if run.kind == QUOTA_ALERT_KIND] == [
        f"zalo_oa:{bot.app.services.deadlines.local_date(clock()).isoformat()}"
    ]


async def test_a_denunciation_template_carries_only_its_code_and_status(
    bot: OaBot, fake: FakeZaloOa, clock: FakeClock
) -> None:
    citizen = OaCitizen(fake)
    case = await _filed_case(bot, citizen)
    async with bot.app.db.unit_of_work() as uow:
        fresh = await uow.cases.get(case.id or 0)
        assert fresh is not None
        fresh.type = "to_cao"
        fresh.description = "Tố cáo ông Trần Văn B nhận tiền của dân"
        uow.session.add(fresh)
    clock.advance(days=8)
    await _queue_notice(bot, case, "Thanh tra đã xác minh nội dung tố cáo về ông Trần Văn B.")
    [body] = fake.zns_sent
    assert body["template_data"] == {
        "ma_ho_so": case.code,
        "tinh_trang": "Đã tiếp nhận",
        "don_vi": "cơ quan có thẩm quyền",  # not even the inspectorate's name
    }
    assert "Trần Văn B" not in str(body) and "tố cáo" not in str(body).lower()


async def test_a_notice_about_a_case_to_someone_else_never_goes_to_the_case_phone(
    bot: OaBot, fake: FakeZaloOa, clock: FakeClock
) -> None:
    citizen = OaCitizen(fake)
    case = await _filed_case(bot, citizen)
    officer = OaCitizen(fake, user_id="5550001")
    await officer.say("alo")  # an officer on the OA, whose window then closes
    clock.advance(days=8)
    async with bot.app.db.unit_of_work() as uow:
        await notify.enqueue(uow, "zalo_oa", officer.user_id, Reply("Hồ sơ mới"), now=clock(), case_id=case.id)
    bot.worker.wake()
    for _ in range(100):
        if await _rows(bot, "held"):
            break
        await asyncio.sleep(0.05)
    [held] = await _rows(bot, "held")
    assert held.chat_id == officer.user_id and fake.zns_sent == []


async def test_without_a_template_the_notice_is_held(database_url: str, clock: FakeClock, fake: FakeZaloOa) -> None:
    async with running_oa(database_url, clock, fake) as bot:  # zns_template_id = "": off
        citizen = OaCitizen(fake)
        await _consent(citizen)
        await file_petition(citizen)
        note = await citizen.fake.next_containing(citizen.user_id, "ℹ️", 0)
        assert "số điện thoại" not in note.text  # no promise of a phone notification
        [case] = await bot.rows(Case)
        clock.advance(days=8)
        await _queue_notice(bot, case, "Đã thông cống xong, mời bạn kiểm tra.")
        assert len(await _rows(bot, "held")) == 1 and fake.zns_sent == []


async def test_an_exhausted_oa_quota_pauses_and_tells_the_admins(
    bot: OaBot, fake: FakeZaloOa, clock: FakeClock
) -> None:
    citizen = OaCitizen(fake)
    case = await _filed_case(bot, citizen)
    fake.cs_quota = 0
    await _queue_notice(bot, case, "Cán bộ sẽ xuống kiểm tra vào thứ Hai.")
    [row] = [row for row in await bot.rows(OutboxMessage) if "thứ Hai" in row.payload.get("text", "")]
    assert row.status == "pending" and "-211" in (row.last_error or "")
    assert row.next_attempt_at >= clock() + timedelta(minutes=59)
    [alert] = await _alerts(bot)
    assert (alert.channel, alert.chat_id) == SUPER_ADMIN


async def test_a_bot_platform_429_tells_the_admins_on_another_channel_once_a_day(
    database_url: str, clock: FakeClock
) -> None:
    async with FakeZalo() as zalo, running_zalo(database_url, clock, zalo) as bot:
        async with bot.app.db.unit_of_work() as uow:
            await uow.staff.save(Staff(channel="zalo", channel_user_id="66", chat_id="66", role="district_admin"))
            await uow.staff.save(Staff(channel="telegram", channel_user_id="67", chat_id="67", role="district_admin"))
        citizen = ZaloCitizen(zalo)
        await citizen.say("/huy")  # the chat exists once the person wrote
        await citizen.expect("Bạn cần gì?")
        for attempt in (1, 2):
            zalo.fail("sendMessage", 429, retry_after=1, chat_id=citizen.user_id)
            async with bot.app.db.unit_of_work() as uow:
                row = await notify.enqueue(uow, "zalo", citizen.user_id, Reply(f"Tin {attempt}"), now=clock())
            bot.worker.wake()
            await _wait_for_row(bot, row.id or 0, "pending", 1)
            clock.advance(seconds=2)  # the pause is over: delivered (later messages wait behind it)
            await _wait_for_row(bot, row.id or 0, "sent", 2)
        async with bot.app.db.unit_of_work() as uow:
            rows = [*await uow.outbox.for_chat("telegram", "67"), *await uow.outbox.for_chat(*SUPER_ADMIN)]
            on_zalo = await uow.outbox.for_chat("zalo", "66")
        assert len(rows) == 2  # once (the second 429 the same day raises none), to each admin
        assert all("<code>zalo</code>" in row.payload["text"] for row in rows)
        assert on_zalo == []  # not on the exhausted channel
