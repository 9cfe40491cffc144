"""Red team: a message typed outside any flow goes to a case only when it is clear which.

An officer's "Yêu cầu bổ sung" makes the citizen's next message part of the case, even typed
outside any flow. With two cases waiting, the newest case took it, whichever request the
person was answering: a denouncer answering the inspector ("Ông Sáu, ngày 3/11, ở nhà tôi")
had the answer sent to the commune their phản ánh was with, which may be the one accused.
With several cases waiting, the person is asked which case the message is for.
"""

from __future__ import annotations

from bot.app import App
from bot.transports.base import plain_text
from tests.helpers import Chat
from tests.test_officer import file_petition, notices, onboard

ANSWER = "Ông Sáu, ngày 3 tháng 11, ở nhà tôi"


async def _ask(officer: Chat, code: str, question: str) -> None:
    await officer.say(f"/xem {code}")
    await officer.press("Yêu cầu bổ sung")
    await officer.say(question)


async def test_with_two_cases_waiting_the_citizen_chooses_the_case(app: App) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5701")
    denunciation = await file_petition(app, citizen, "Kim Hòa", kind="Tố cáo", text="Có người thu tiền làm sổ đỏ")
    petition = await file_petition(app, citizen, "Kim Hòa", text="Đường ấp Chợ chưa làm xong")
    await _ask(people["officer_kh"], petition, "Anh cho biết đoạn đường nào chưa làm xong")
    await _ask(people["inspector"], denunciation, "Ông cho biết ai thu tiền, khi nào, ở đâu")
    await citizen.say(ANSWER)
    commune = people["officer_kh"]
    assert [n for n in await notices(app, commune) if "Ông Sáu" in plain_text(n.text)] == []
    assert any(denunciation in label for label in citizen.labels), citizen.labels
    await citizen.press(denunciation)
    await commune.say(f"/xem {petition}")
    assert "Ông Sáu" not in commune.text
    await people["inspector"].say(f"/xem {denunciation}")
    assert "Ông Sáu" in people["inspector"].text


async def test_with_one_case_waiting_the_message_still_goes_to_it(app: App) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5702")
    petition = await file_petition(app, citizen, "Kim Hòa", text="Đường ấp Chợ chưa làm xong")
    await _ask(people["officer_kh"], petition, "Anh cho biết đoạn đường nào chưa làm xong")
    await citizen.say("Đoạn từ chợ đến cầu")
    assert petition in citizen.text
    await people["officer_kh"].say(f"/xem {petition}")
    assert "từ chợ đến cầu" in people["officer_kh"].text
