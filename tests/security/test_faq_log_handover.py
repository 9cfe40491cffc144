"""Issue #12 item 1: a typed command argument never selects another person's rows.

A question forwarded from the FAQ travels to the petition flow in the conversation's own
data, not in a flow argument that ``/phananh question:<n>`` could forge. The FAQ log has an
owner, is shown in /dulieu and is erased with it.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.app import App
from storage.models import Case, FaqFeedback
from tests.helpers import Chat

SECRET = "tôi tên Lê Thị Bí Mật số 0987654321 hỏi chuyện đất đai nhà bên"


async def _consented(chat: Chat) -> None:
    await chat.say("/start")
    await chat.press("Tôi đồng ý")


async def _logs(app: App) -> list[FaqFeedback]:
    async with app.db.unit_of_work() as uow:
        return list((await uow.session.exec(select(FaqFeedback).order_by(FaqFeedback.id))).all())


@pytest.mark.parametrize("typed", ["question:1", "question:2", " question:1 ", "question:01"])
async def test_a_typed_question_argument_does_not_load_anyone_s_text(app: App, typed: str) -> None:
    victim = Chat(app, user_id="2001")
    await _consented(victim)
    await victim.say(SECRET)
    [log] = await _logs(app)
    assert log.query == SECRET
    attacker = Chat(app, user_id="2002")
    await _consented(attacker)
    await attacker.say(f"/phananh {typed}")
    assert "Bí Mật" not in "\n".join(attacker.transcript)
    assert "Bạn muốn gửi loại nào?" in attacker.text  # an ordinary new petition
    await attacker.say("/phananh")  # and nothing the attacker can do files the victim's words
    async with app.db.unit_of_work() as uow:
        assert not (await uow.session.exec(select(Case))).all()


async def test_even_one_s_own_question_is_not_selected_by_a_typed_argument(app: App) -> None:
    chat = Chat(app)
    await _consented(chat)
    await chat.say(SECRET)
    [log] = await _logs(app)
    await chat.say(f"/phananh question:{log.id}")
    assert "Tôi sẽ chuyển câu hỏi" not in chat.text


async def test_the_forward_button_still_carries_the_question(app: App) -> None:
    chat = Chat(app)
    await _consented(chat)
    await chat.say("/hoi chừng nào tổ chức lễ hội đua ghe ngo năm nay")
    await chat.press("Gửi câu hỏi cho cán bộ")
    assert "Tôi sẽ chuyển câu hỏi của bạn cho cán bộ" in chat.text
    await chat.press("Xã Long Sơn")
    await chat.press("Bỏ qua")
    await chat.press("Gửi")
    async with app.db.unit_of_work() as uow:
        [case] = (await uow.session.exec(select(Case))).all()
    [log] = await _logs(app)
    assert case.description == "chừng nào tổ chức lễ hội đua ghe ngo năm nay"
    assert log.forwarded_case_id == case.id


async def test_the_faq_log_has_an_owner_shown_in_dulieu_and_erased_with_it(app: App) -> None:
    chat = Chat(app)
    await _consented(chat)
    await chat.say(SECRET)
    [log] = await _logs(app)
    assert log.citizen_id is not None
    await chat.say("/dulieu")
    assert "Câu hỏi đã gõ: 1" in chat.text
    await chat.press("Xóa thông tin cá nhân")
    await chat.press("Đồng ý xóa")
    [log] = await _logs(app)
    assert log.query == "" and log.citizen_id is None
    assert log.outcome  # the statistics (answered or not) stay, without the words
