"""Red team: an officer's answer to one person is not published into the public FAQ with their data.

"Đưa vào FAQ" publishes the officer's last reply on a forwarded question as the answer every
citizen then reads. That reply was written to one person and often names them or repeats
their phone number; the learning flow never showed it to whoever published it, and any admin
may publish any unit's question. Text that carries a phone number, an e-mail address, or the
name, phone or address the person gave is refused, with the reason.
"""

from __future__ import annotations

import re

from bot.app import App
from tests.helpers import Chat
from tests.test_officer import onboard

NAME = "Trần Thị Lan"
PHONE = "0912 345 678"


async def _forwarded_question(app: App, citizen: Chat, question: str) -> str:
    await citizen.say("/start")
    await citizen.press("Tôi đồng ý")
    await citizen.say("/hoi")
    await citizen.say(question)
    if "Có phải bạn muốn hỏi" in citizen.text:
        await citizen.press("hỏi cán bộ")
    else:
        await citizen.press("Gửi câu hỏi cho cán bộ")
    await citizen.press("Xã Kim Hòa")
    await citizen.press("Bỏ qua")
    await citizen.press("Gửi")
    code = re.search(r"CN-\d{4}-\d{5}", citizen.text)
    assert code, citizen.text
    return code.group(0)


async def _answer_and_learn(officer: Chat, code: str, answer: str) -> None:
    await officer.say(f"/xem {code}")
    await officer.press("Trả lời")
    await officer.say(answer)
    await officer.press("Đưa vào FAQ")
    if "Tạo mục mới" in " ".join(officer.labels):
        await officer.press("Tạo mục mới")
        await officer.say("Nuôi ong mật có cần giấy phép không")


async def test_a_reply_naming_the_person_is_not_published(app: App) -> None:
    people = await onboard(app)
    code = await _forwarded_question(app, Chat(app, user_id="5501", name=NAME), "xin cấp giấy phép nuôi ong mật ở ấp")
    answer = f"Chào chị {NAME}, nuôi ong mật hộ gia đình không cần giấy phép; cần gì chị gọi lại số {PHONE}."
    await _answer_and_learn(people["officer_kh"], code, answer)
    assert "Đã thêm mục FAQ" not in people["officer_kh"].text, people["officer_kh"].text
    stranger = Chat(app, user_id="5502")
    await stranger.say("nuoi ong mat co can xin phep khong")
    assert NAME not in stranger.text and "345" not in stranger.text, stranger.text


async def test_a_question_with_a_phone_number_is_not_learned(app: App) -> None:
    people = await onboard(app)
    question = f"xin cấp giấy phép nuôi ong mật ở ấp, gọi em số {PHONE}"
    code = await _forwarded_question(app, Chat(app, user_id="5503"), question)
    officer, admin = people["officer_kh"], people["noivu"]
    await officer.say(f"/xem {code}")
    await officer.press("Trả lời")
    await officer.say("Nuôi ong mật hộ gia đình không cần giấy phép của xã.")
    await admin.say(f"/faq them {code}")  # an admin may learn any unit's answered question
    if "Tạo mục mới" in " ".join(admin.labels):
        await admin.press("Tạo mục mới")
        await admin.say("Nuôi ong mật có cần giấy phép không")
    assert "Đã thêm mục FAQ" not in admin.text, admin.text
    async with app.db.unit_of_work() as uow:
        learned = [r for r in await uow.faq.all() if r.origin == "officer"]
    assert all("345" not in q for r in learned for q in (*r.questions, *r.extra_questions)), learned


async def test_a_plain_answer_is_still_learned(app: App) -> None:
    people = await onboard(app)
    code = await _forwarded_question(app, Chat(app, user_id="5504", name=NAME), "xin cấp giấy phép nuôi ong mật ở ấp")
    await _answer_and_learn(people["officer_kh"], code, "Nuôi ong mật hộ gia đình không cần giấy phép của xã.")
    assert "Đã thêm mục FAQ" in people["officer_kh"].text, people["officer_kh"].text
