"""The case workflow against the law (issue #14), dialogue level, on both databases.

Each test names the article it enforces: Luật Khiếu nại 2011 (Law 02/2011/QH13, "Luật KN"),
Luật Tố cáo 2018 (Law 25/2018/QH14, "Luật TC"). The clock starts on Friday 27/11/2026, 09:00
in Vietnam (tests/conftest.py).
"""

from __future__ import annotations

import re
from datetime import date

from sqlmodel import select

from bot.app import App
from bot.reports import periods
from bot.reports.figures import collect
from bot.text import plain_text
from storage.models import Case
from tests.helpers import Chat, FakeClock
from tests.test_officer import file_petition, notices, onboard, press_notice


async def _resolve_with_decision(officer: Chat, code: str, number: str = "15/QĐ-UBND") -> None:
    await officer.say(f"/xem {code}")
    await officer.press("Giải quyết xong")
    await officer.say("Giữ nguyên quyết định thu hồi đất, vì đúng quy hoạch đã duyệt.")
    assert "Số văn bản" in officer.text, officer.text
    await officer.say(number)
    assert "Ngày ký" in officer.text, officer.text
    await officer.press("Hôm nay")


async def test_a_complaint_is_accepted_before_it_is_resolved(app: App) -> None:
    """Luật KN Art. 27-28: the resolution period runs from acceptance, so resolve needs it first."""
    officer = (await onboard(app))["officer_kh"]
    citizen = Chat(app, user_id="6001")
    code = await file_petition(app, citizen, "Kim Hòa", kind="Khiếu nại", text="Khiếu nại quyết định thu hồi đất")
    await officer.say(f"/xem {code}")
    assert "Hạn thụ lý: 11/12/2026" in plain_text(officer.text)  # Art. 27: 10 working days
    assert "🏁 Giải quyết xong" not in officer.labels
    await officer.say(f"/xem resolve:{code}")  # an old button, typed
    assert "phải được thụ lý trước" in officer.text
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None and case.status == "received" and case.accepted_at is None


async def test_a_decided_complaint_states_the_rights_and_is_not_reopened(app: App, clock: FakeClock) -> None:
    """Luật KN Art. 31(2), 33: the decision (number, date) and the rights after it; a low rating
    does not reopen it; a second complaint is offered in the bot (Art. 36, 37: its own deadlines)."""
    people = await onboard(app)
    officer, inspector = people["officer_kh"], people["inspector"]
    citizen = Chat(app, user_id="6002")
    code = await file_petition(app, citizen, "Kim Hòa", kind="Khiếu nại", text="Khiếu nại quyết định thu hồi đất")
    await officer.say(f"/xem {code}")
    await officer.press("Thụ lý")
    [accepted] = [n for n in await notices(app, citizen) if "thụ lý" in plain_text(n.text)]
    assert "Hạn giải quyết: 27/12/2026" in plain_text(accepted.text)  # Art. 28: 30 days
    assert "bằng văn bản" in plain_text(accepted.text)  # Art. 27: written notice follows
    await _resolve_with_decision(officer, code)
    assert "Đã giải quyết" in officer.text and "🔒 Ghi chú" in officer.labels  # the card again
    [decision] = [n for n in await notices(app, citizen) if "Điều 33" in plain_text(n.text)]
    text = plain_text(decision.text)
    assert "15/QĐ-UBND" in text and "27/11/2026" in text
    assert "khiếu nại lần hai" in text and "30 ngày" in text and "27/12/2026" in text and "Tòa án" in text
    labels = [plain_text(b.label) for b in decision.flat_buttons]
    assert "⚖️ Khiếu nại lần hai" in labels and "❌ Chưa được giải quyết" not in labels

    await press_notice(app, citizen, "1 ⭐")
    await citizen.say("Tôi không đồng ý")
    assert "không mở lại" in citizen.text and "khiếu nại lần hai" in citizen.text
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None and case.status == "closed"
        assert case.decision_number == "15/QĐ-UBND" and case.decision_date == date(2026, 11, 27)
    await citizen.say(f"/hoso {code}")
    assert "Quyết định số 15/QĐ-UBND ngày 27/11/2026" in plain_text(citizen.text)

    clock.advance(days=3)
    await press_notice(app, citizen, "Khiếu nại lần hai")
    await citizen.say("Quyết định lần đầu chưa xem xét giấy tờ mua bán đất năm 1998 của gia đình tôi.")
    await citizen.press("Gửi")
    assert "Đã gửi khiếu nại lần hai" in citizen.text
    assert "Hạn thụ lý: 14/12/2026" in plain_text(citizen.text)  # Art. 36(1): 10 working days
    async with app.db.unit_of_work() as uow:
        second = (await uow.session.exec(select(Case).where(Case.round == 2))).one()
        inspectorate = await uow.units.get(second.unit_id)
    assert second.parent_id is not None and second.type == "khieu_nai" and second.code != code
    assert inspectorate is not None and inspectorate.kind == "thanh_tra"
    assert any("Khiếu nại lần hai" in plain_text(n.text) for n in await notices(app, inspector))
    await inspector.say(f"/xem {second.code}")
    await inspector.press("Thụ lý")
    assert "Hạn giải quyết: 14/01/2027" in inspector.text  # Art. 37: 45 days from acceptance

    await press_notice(app, citizen, "Khiếu nại lần hai")  # only once
    assert "đã gửi khiếu nại lần hai" in citizen.text


async def test_a_second_complaint_after_the_time_limit_is_refused(app: App, clock: FakeClock) -> None:
    """Luật KN Art. 33(1): a second complaint within 30 days of the first decision."""
    officer = (await onboard(app))["officer_kh"]
    citizen = Chat(app, user_id="6003")
    code = await file_petition(app, citizen, "Kim Hòa", kind="Khiếu nại", text="Khiếu nại quyết định thu hồi đất")
    await officer.say(f"/xem {code}")
    await officer.press("Thụ lý")
    await _resolve_with_decision(officer, code)
    clock.advance(days=31)
    await citizen.say(f"/hoso {code}")
    await citizen.press("Khiếu nại lần hai")
    assert "quá thời hạn khiếu nại lần hai" in citizen.text
    async with app.db.unit_of_work() as uow:
        assert (await uow.session.exec(select(Case).where(Case.round == 2))).first() is None


async def test_a_decided_denunciation_offers_to_cao_tiep_and_is_not_reopened(app: App) -> None:
    """Luật TC Art. 35, 37: the conclusion stands; the denouncer may denounce again to the body above."""
    inspector = (await onboard(app))["inspector"]
    citizen = Chat(app, user_id="6004")
    code = await file_petition(app, citizen, "Kim Hòa", kind="Tố cáo", text="Cán bộ xã thu tiền trái phép khi cấp giấy")
    await inspector.say(f"/xem {code}")
    await inspector.press("Thụ lý")
    await _resolve_with_decision(inspector, code, number="3/KL-TTr")
    [decision] = [n for n in await notices(app, citizen) if "Điều 37" in plain_text(n.text)]
    assert "3/KL-TTr" in plain_text(decision.text) and "tố cáo tiếp" in plain_text(decision.text)
    await press_notice(app, citizen, "1 ⭐")
    await citizen.say("Kết luận chưa đúng")
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None and case.status == "closed"


async def _file_tip(citizen: Chat, text: str = "Cán bộ địa chính xã nhận tiền để làm nhanh hồ sơ") -> str:
    await citizen.say("/start")
    if "Tôi đồng ý" in " ".join(citizen.labels):
        await citizen.press("Tôi đồng ý")
    await citizen.say("/tocao")
    await citizen.say("Kim Hòa")
    await citizen.say(text)
    await citizen.press("Xong")
    await citizen.press("Gửi ẩn danh")
    await citizen.press("Gửi")
    match = re.search(r"CN-\d{4}-\d{5}", citizen.text)
    assert match, citizen.text
    return match.group(0)


async def test_an_anonymous_tip_is_not_accepted_or_extended_as_a_denunciation(app: App) -> None:
    """Luật TC Art. 25: anonymous information is not processed as a tố cáo: no thụ lý, no
    extension, no statutory deadline; it still reaches only the inspectorate (Art. 8(3), 56)."""
    people = await onboard(app)
    inspector, officer, noivu = people["inspector"], people["officer_kh"], people["noivu"]
    citizen = Chat(app, user_id="6005")
    code = await _file_tip(citizen)
    assert await notices(app, officer) == [] and await notices(app, noivu) == []
    [notice] = await notices(app, inspector)
    assert "Tin báo ẩn danh" in plain_text(notice.text)
    await inspector.say(f"/xem {code}")
    card = plain_text(inspector.text)
    assert "Tin báo ẩn danh" in card and "không phải hạn luật định" in card
    assert "✅ Thụ lý" not in inspector.labels and "⏳ Gia hạn" not in inspector.labels
    await inspector.say(f"/xem accept:{code}")  # an old button, typed
    assert "Điều 25" in inspector.text
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None and case.status == "received" and case.accepted_at is None
        assert case.first_due == case.final_due == date(2026, 12, 11)  # tin_bao.review, local choice
    await officer.say(f"/xem {code}")
    assert "Không tìm thấy hồ sơ" in officer.text


async def test_a_transfer_restarts_the_deadline_and_tells_the_citizen(app: App, clock: FakeClock) -> None:
    """Luật KN Art. 27: the receiving body's acceptance period runs from its own receipt; the
    citizen is told who has the case now and the new date, named for what it is."""
    people = await onboard(app)
    first, second = people["officer_kh"], people["officer_mh"]
    citizen = Chat(app, user_id="6006")
    code = await file_petition(app, citizen, "Kim Hòa", kind="Khiếu nại", text="Khiếu nại việc cấp sổ đỏ ở ranh Mỹ Hòa")
    clock.advance(days=3)  # Monday 30/11
    await first.say(f"/xem {code}")
    await first.press("Chuyển")
    await first.press("Xã Mỹ Hòa")
    await first.say("Thửa đất thuộc địa bàn xã Mỹ Hòa")
    assert "Đã chuyển" in first.text and "chưa có cán bộ" not in first.text
    [moved] = [n for n in await notices(app, citizen) if "được chuyển đến" in plain_text(n.text)]
    assert "Xã Mỹ Hòa" in plain_text(moved.text) and "Hạn thụ lý mới" in plain_text(moved.text)
    assert "14/12/2026" in plain_text(moved.text)  # 10 working days from 30/11, not from 27/11
    await second.say(f"/xem {code}")
    assert "Hạn thụ lý: 14/12/2026" in plain_text(second.text)


async def test_a_transfer_to_a_unit_with_nobody_says_so(app: App) -> None:
    officer = (await onboard(app))["officer_kh"]
    citizen = Chat(app, user_id="6007")
    code = await file_petition(app, citizen, "Kim Hòa")
    await officer.say(f"/xem {code}")
    await officer.press("Chuyển")
    await officer.press("Xã Thuận Hòa")
    await officer.say("Thuộc địa bàn Thuận Hòa")
    assert "chưa có cán bộ nào dùng bot" in officer.text


async def test_an_answered_question_is_closed(app: App) -> None:
    """A question (hỏi đáp) is not a petition (Luật Tiếp công dân Art. 26-28 concern KN/TC/KNPA):
    once answered it is done and leaves the inbox."""
    officer = (await onboard(app))["officer_kh"]
    citizen = Chat(app, user_id="6008")
    await citizen.say("/start")
    await citizen.press("Tôi đồng ý")
    await citizen.say("/hoi")
    await citizen.say("xin cấp giấy phép nuôi ong mật ở ấp")
    if "Có phải bạn muốn hỏi" in citizen.text:
        await citizen.press("hỏi cán bộ")
    else:
        await citizen.press("Gửi câu hỏi cho cán bộ")
    await citizen.press("Xã Kim Hòa")
    await citizen.press("Bỏ qua")
    await citizen.press("Gửi")
    match = re.search(r"CN-\d{4}-\d{5}", citizen.text)
    assert match, citizen.texts
    code = match.group(0)
    await officer.say(f"/xem {code}")
    await officer.press("Trả lời")
    await officer.say("Bạn liên hệ phòng kinh tế xã để được hướng dẫn thủ tục.")
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None and case.status == "closed" and case.resolved_at is not None
    await officer.say("/hopthu")
    assert code not in officer.text


async def test_a_long_petition_is_kept_whole_or_refused_with_its_length(app: App) -> None:
    """Three parts of 1,800 characters are kept whole; a part that would pass the limit is refused
    with its length and nothing before it is lost."""
    citizen = Chat(app, user_id="6009")
    await citizen.say("/start")
    if "Tôi đồng ý" in " ".join(citizen.labels):
        await citizen.press("Tôi đồng ý")
    await citizen.say("/phananh")
    await citizen.press("Phản ánh")
    await citizen.say("Kim Hòa")
    parts = [f"Phần {n}: " + "đường ấp bị ngập sau mưa lớn. " * 60 for n in (1, 2, 3)]
    for part in parts:
        await citizen.say(part)
    huge = "x" * 9_999
    for _ in range(4):
        await citizen.say(huge)
    assert "chưa được lưu" in citizen.text and "9999 ký tự" in citizen.text
    await citizen.press("Xong")
    await citizen.press("Bỏ qua")
    await citizen.press("Gửi")
    async with app.db.unit_of_work() as uow:
        [case] = (await uow.session.exec(select(Case))).all()
    assert case.description.startswith(parts[0].strip()) and parts[2].strip() in case.description
    assert len(case.description) <= 40_000 and case.description.count(huge) == 3


async def test_reports_count_anonymous_tips_apart_and_never_overdue(app: App, clock: FakeClock) -> None:
    """Luật TC Art. 25: a tip is not a tố cáo; reports give it its own row and, with no statutory
    deadline, never count it overdue."""
    people = await onboard(app)
    await _file_tip(Chat(app, user_id="6010"))
    await file_petition(app, Chat(app, user_id="6011"), "Kim Hòa", kind="Tố cáo", text="Cán bộ xã thu tiền trái phép")
    del people
    clock.advance(days=30)
    now = app.services.clock()
    period = periods.parse("2026-11", app.services.local_now().date(), app.config.reports)
    async with app.db.unit_of_work() as uow:
        figures = await collect(uow, period, now, app.config.deployment.tz)
    by_type = figures.by_type()
    assert by_type["to_cao"].received == 1 and by_type["tin_bao"].received == 1
    period = periods.parse("2026-12", app.services.local_now().date(), app.config.reports)
    async with app.db.unit_of_work() as uow:
        december = await collect(uow, period, now, app.config.deployment.tz)
    # Both are past their dates on 27/12 (7 working days; the tip's internal 10): only the tố cáo is overdue.
    assert december.by_type()["to_cao"].overdue == 1 and december.total().overdue == 1
    assert len(december.overdue_cases) == 1
