"""A whole office on Zalo: the admin, the officer and the citizen all on the Zalo Bot Platform.

Nothing here touches Telegram. The admin is a bootstrap super-admin by Zalo id; staff commands
are typed with or without the slash; every choice is a typed number. The real transport runs
against the fake Zalo Bot API, as the citizen tests do.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from storage.models import Case, Rating
from tests.fakes.zalo_api import FakeZalo
from tests.helpers import FakeClock
from tests.zalo_helpers import ZaloBot, ZaloCitizen, running_zalo

ADMIN_ID = "b1c2d3e4f5a6b7c8d9e0"


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    async with FakeZalo() as fake:
        yield fake


@pytest.fixture
async def bot(database_url: str, clock: FakeClock, zalo: FakeZalo) -> AsyncIterator[ZaloBot]:
    async with running_zalo(database_url, clock, zalo, admins={"telegram_ids": [], "zalo_ids": [ADMIN_ID]}) as running:
        yield running


def number_of(body: str, label: str) -> str:
    """The number a numbered line with ``label`` has in a message."""
    match = re.search(rf"(\d+)\. [^\n]*{re.escape(label)}", body)
    assert match, body
    return match.group(1)


async def test_the_whole_officer_cycle_on_zalo(bot: ZaloBot, zalo: FakeZalo, clock: FakeClock) -> None:
    admin = ZaloCitizen(zalo, user_id=ADMIN_ID, name="Chị Lan Nội vụ")
    officer = ZaloCitizen(zalo, user_id="c0ffee00c0ffee00c0ff", name="Anh Tư địa chính")
    citizen = ZaloCitizen(zalo)

    # The admin invites without the slash; the officer joins without it.
    await admin.say("moi Hiệp Mỹ Đông canbo")
    invite = await admin.expect("/dangky")
    code = re.search(r"/dangky ([A-Z0-9]{8})", invite.body)
    assert code, invite.body
    await officer.say(f"dangky {code.group(1)}")
    await officer.expect("đã được ghi nhận")
    await admin.say("dscanbo")
    listed = await admin.expect("Anh Tư địa chính")
    assert officer.user_id in listed.body

    await citizen.consent()
    received = await citizen.file_petition("Cống ở ấp Cầu Xây bị nghẹt")
    case_code = re.search(r"CN-\d{4}-\d{5}", received)
    assert case_code, received
    case = case_code.group(0)

    # Time passes between people's messages (a typed number answers the newest list seen).
    clock.advance(minutes=1)
    notice = await officer.expect(f"Hồ sơ mới {case}")
    assert "1. 👁 Xem" in notice.body and "2. ✅ Thụ lý" in notice.body
    await officer.say(number_of(notice.body, "Thụ lý"))
    await officer.expect(f"Đã thụ lý {case}")
    await citizen.expect("thụ lý")

    await officer.say("hopthu")  # bare, as Zalo's keyboard makes it easy to type
    inbox = await officer.expect(case)
    await officer.say(number_of(inbox.body, case))
    card = await officer.expect("Cống ở ấp Cầu Xây")
    await officer.say(number_of(card.body, "Trả lời"))
    await officer.expect(case)
    await officer.say("Xã đã cử người nạo vét sáng mai.")
    reply = await citizen.expect("cử người nạo vét")
    assert case in reply.body

    clock.advance(minutes=1)
    await officer.say(f"/xem {case}")  # with the slash works the same
    card = await officer.expect("Cống ở ấp Cầu Xây")
    await officer.say(number_of(card.body, "Giải quyết xong"))
    await officer.expect("Kết quả giải quyết")
    await officer.say("Đã nạo vét xong, nước thoát bình thường.")
    await officer.expect(f"Đã giải quyết {case}")
    rating = await citizen.expect("Bạn đánh giá")
    clock.advance(minutes=1)
    assert "4. 4 ⭐" in rating.body
    await citizen.say("4")
    await citizen.expect("khía cạnh")

    [stored] = [c for c in await bot.rows(Case) if c.code == case]
    assert stored.status in ("resolved", "closed")
    [score] = await bot.rows(Rating)
    assert score.score == 4

    # A report on demand: Zalo cannot carry the files, and says where they are.
    await admin.say("baocao tuan")
    await admin.expect("Tổng hợp", timeout=30)
    note = await admin.expect("Tệp nằm trên máy chủ", timeout=15)
    assert "không kèm được" in note.body

    # The admin removes the officer by the id /dscanbo showed.
    await admin.say(f"thuhoi {officer.user_id}")
    await admin.expect("Anh Tư địa chính")
    await officer.say("hopthu")
    await officer.expect("")  # a bare word from a non-officer is just a word now
    await officer.say("/hopthu")
    await officer.expect("chỉ dành cho cán bộ")


async def test_bare_words_stay_words_for_citizens_and_in_free_text(bot: ZaloBot, zalo: FakeZalo) -> None:
    citizen = ZaloCitizen(zalo)
    await citizen.consent()
    await citizen.say("hopthu")
    seen = await citizen.expect("")
    assert "chỉ dành cho cán bộ" not in seen.body
    await citizen.say("roi")
    seen = await citizen.expect("")
    assert "rời" not in seen.body.lower() or "cán bộ" not in seen.body
