"""Item 3 of issue #12: a denunciation typed as free text is handled as a tố cáo."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.app import App
from bot.services.denunciation import is_denunciation
from storage.models import Case, CaseEvent, FaqRecord, Unit
from tests.helpers import Chat
from tests.test_officer import notices, onboard


@pytest.mark.parametrize(
    "text",
    [
        "tố cáo cán bộ xã Kim Hòa",
        "to cao can bo xa nhan tien",
        "Cán bộ xã Kim Hòa nhận tiền của dân mới cấp giấy",
        "can bo dia chinh an hoi lo",
        "chủ tịch xã lấy đất của dân làm của riêng",
        "ong truong ap doi tien moi lan xin xac nhan",
        "xã này tham nhũng quá",
    ],
)
def test_denunciations_are_recognised(text: str) -> None:
    assert is_denunciation(text)


@pytest.mark.parametrize(
    "text",
    [
        "làm giấy khai sinh cho con cần gì",
        "đường đất ấp Chợ sạt lở",
        "hàng xóm lấn đất nhà tôi",
        "cán bộ xã trả lời chậm quá",
        "xin cấp giấy phép nuôi ong mật",
    ],
)
def test_other_petitions_are_not(text: str) -> None:
    assert not is_denunciation(text)


async def _filed(app: App) -> tuple[Case, Unit]:
    async with app.db.unit_of_work() as uow:
        case = (await uow.session.exec(select(Case))).one()
        unit = await uow.units.get(case.unit_id)
    assert unit is not None
    return case, unit


async def _consent(citizen: Chat) -> None:
    await citizen.say("/start")
    if "Tôi đồng ý" in " ".join(citizen.labels):
        await citizen.press("Tôi đồng ý")


async def test_a_forwarded_question_that_denounces_becomes_a_to_cao(app: App) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5501")
    await _consent(citizen)
    await citizen.say("/hoi")
    await citizen.say("can bo dia chinh xa Kim Hoa an hoi lo moi lam so do")
    for label in ("hỏi cán bộ", "Gửi câu hỏi cho cán bộ"):
        if any(label.lower() in x.lower() for x in citizen.labels):
            await citizen.press(label)
            break
    if "Gửi câu hỏi cho cán bộ" in " ".join(citizen.labels):
        await citizen.press("Gửi câu hỏi cho cán bộ")
    assert "tố cáo" in citizen.text.lower() and "thanh tra" in citizen.text.lower(), citizen.text
    await citizen.press("Xã Kim Hòa")
    assert "an hoi lo" not in citizen.text or "Xong" in " ".join(citizen.labels)
    if "Xong" in " ".join(citizen.labels):
        await citizen.press("Xong")
    await citizen.press("Gửi ẩn danh")
    await citizen.press("Gửi")
    case, unit = await _filed(app)
    assert case.type == "to_cao" and unit.kind == "thanh_tra"
    assert "an hoi lo" in case.description
    assert await notices(app, people["officer_kh"]) == []
    assert await notices(app, people["noivu"]) == []


async def test_a_phan_anh_that_denounces_continues_as_a_to_cao(app: App) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5502")
    await _consent(citizen)
    await citizen.say("/phananh")
    await citizen.press("Phản ánh")
    await citizen.say("Kim Hòa")
    await citizen.say("Chủ tịch xã Kim Hòa lấy đất công làm của riêng")
    await citizen.press("Xong")
    assert "tố cáo" in citizen.text.lower() and "thanh tra" in citizen.text.lower(), citizen.text
    assert "Gửi ẩn danh" in " ".join(citizen.labels), citizen.labels
    await citizen.say("Thạch Văn Sang")
    await citizen.say("0909123457")
    await citizen.say("ấp Chợ")
    await citizen.press("Gửi")
    case, unit = await _filed(app)
    assert case.type == "to_cao" and unit.kind == "thanh_tra"
    assert "lấy đất công" in case.description
    assert await notices(app, people["officer_kh"]) == []


async def test_a_question_filed_before_that_denounces_never_becomes_a_faq_entry(app: App) -> None:
    """A hỏi đáp stored before denunciations were recognised: its words stay out of the public FAQ."""
    people = await onboard(app)
    citizen = Chat(app, user_id="5503")
    await _consent(citizen)
    async with app.db.unit_of_work() as uow:
        unit = await uow.units.by_code(app.services.config.deployment.units_profile, "29434")
        owner = await uow.citizens.find(citizen.channel, citizen.user_id)
        assert unit is not None and unit.id is not None and owner is not None and owner.id is not None
        now = app.services.clock()
        case = Case(
            code="CN-2026-00077",
            year=2026,
            seq=77,
            type="hoi_dap",
            status="accepted",
            unit_id=unit.id,
            citizen_id=owner.id,
            channel=citizen.channel,
            chat_id=citizen.user_id,
            description="cán bộ địa chính xã ăn hối lộ mới cấp sổ đỏ, tôi là Lâm Văn Tố ấp Chợ",
            received_at=now,
            first_due=now.date(),
        )
        await uow.cases.add(case, None)
        assert case.id is not None
        await uow.cases.add_event(
            CaseEvent(
                case_id=case.id,
                kind="replied",
                actor_kind="officer",
                visibility="public",
                payload={"text": "Đã chuyển thanh tra"},
            )
        )
    officer = people["officer_kh"]
    await officer.say("/faq them CN-2026-00077")
    if "Tạo mục mới" in " ".join(officer.labels):
        await officer.press("Tạo mục mới")
        await officer.say("Cán bộ ăn hối lộ")
    async with app.db.unit_of_work() as uow:
        learned = (await uow.session.exec(select(FaqRecord).where(FaqRecord.origin == "officer"))).all()
    assert learned == []
    assert "tố cáo" in officer.text
