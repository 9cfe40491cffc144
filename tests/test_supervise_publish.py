"""The supervisor role (/giamsat) and publishing an answer with the citizen's leave, on both databases."""

from __future__ import annotations

from bot.app import App
from storage.models import PublishedAnswer
from tests.helpers import Chat, FakeClock
from tests.test_officer import file_petition, invite, onboard, press_notice


async def _resolved_and_rated(app: App, people: dict[str, Chat], citizen: Chat, text: str) -> str:
    code = await file_petition(app, citizen, "Kim Hòa", text=text)
    officer = people["officer_kh"]
    await officer.say(f"/xem {code}")
    await officer.press("Giải quyết xong")
    await officer.say("Đã nạo vét cống, gọi 0909 123 456 nếu còn tắc")
    await press_notice(app, citizen, "5 ⭐")
    await citizen.press("Thôi")
    return code


async def test_an_answer_is_published_only_with_the_citizens_leave_and_an_officers_approval(app: App) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5101")
    code = await _resolved_and_rated(app, people, citizen, "Cống ấp Chợ tắc, nhà tôi số 0912345678")
    assert "trang công khai" in citizen.text
    officer = people["officer_kh"]
    await officer.say(f"/xem {code}")
    assert "Công bố" not in " ".join(officer.labels)  # the citizen has not said yes
    await citizen.press("Đồng ý đăng")
    assert "xem lại trước khi đăng" in citizen.text
    async with app.db.unit_of_work() as uow:
        row = await uow.session.get(PublishedAnswer, 1)
    assert row is not None and row.approved_at is None
    for other in (people["officer_mh"], people["noivu"]):  # another unit; an admin reads, never publishes
        await other.say(f"/xem {code}")
        assert "Công bố" not in " ".join(other.labels)
        await other.say(f"/xem publish:{code}")
        assert "Đã công bố" not in other.text
    await officer.say(f"/xem {code}")
    await officer.press("Công bố")
    assert f"Đã công bố câu hỏi và trả lời của {code}" in officer.text
    async with app.db.unit_of_work() as uow:
        row = await uow.session.get(PublishedAnswer, 1)
    assert row is not None and row.approved_at is not None
    assert row.question == "Cống ấp Chợ tắc, nhà tôi số ***"
    assert row.answer == "Đã nạo vét cống, gọi *** nếu còn tắc"


async def test_declining_publishes_nothing_and_erasure_withdraws_the_leave(app: App) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5102")
    await _resolved_and_rated(app, people, citizen, "Đèn đường ấp Chợ hỏng")
    await citizen.press("Không đăng")
    other = Chat(app, user_id="5103")
    await _resolved_and_rated(app, people, other, "Rác ấp Chợ chưa được thu")
    await other.press("Đồng ý đăng")
    async with app.db.unit_of_work() as uow:
        assert [r.case_id for r in await _rows(uow)] == [2]
        person = await uow.citizens.find(other.channel, other.user_id)
        assert person is not None
        from bot.services import privacy

        await privacy.erase(uow, app.services, person, app.services.clock())
    async with app.db.unit_of_work() as uow:
        assert await _rows(uow) == []


async def _rows(uow: object) -> list[PublishedAnswer]:
    from sqlmodel import select

    session = uow.session  # type: ignore[attr-defined]
    return list((await session.exec(select(PublishedAnswer))).all())


async def test_a_supervisor_sees_figures_and_overdue_codes_only(app: App, clock: FakeClock) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5104")
    code = await file_petition(app, citizen, "Kim Hòa", text="Ông Nguyễn Văn Bé lấn chiếm lối đi chung")
    supervisor = Chat(app, user_id="7010", channel="telegram", name="MTTQ Kim Hòa")
    await supervisor.say("/dangky " + await invite(people["admin"], "Kim Hòa", "giamsat"))
    assert "giám sát" in supervisor.text
    clock.advance(days=20)
    await supervisor.say("/giamsat")
    assert "Giám sát: Xã Kim Hòa" in supervisor.text
    assert "Đang quá hạn: 1" in supervisor.text  # filed last month, so received 0 this month
    assert code in supervisor.text and "quá hạn" in supervisor.text
    assert "Nguyễn Văn Bé" not in supervisor.text and "lấn chiếm" not in supervisor.text
    assert supervisor.labels == []  # nothing to press, nothing to act on
    await supervisor.say(f"/xem {code}")
    assert "Không tìm thấy hồ sơ" in supervisor.text
    await supervisor.say("/hopthu")
    assert "ngoài quyền hạn" in supervisor.text
    await supervisor.say("/trogiup")
    assert "/giamsat" in supervisor.text and "/hopthu" not in supervisor.text
