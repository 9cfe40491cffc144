"""Red team: a denunciation added to a phản ánh later does not reach the unit it accuses.

Issue #12 item 3 checks what is filed; what a citizen adds afterwards was not checked: an
answer to "Yêu cầu bổ sung" (pressed or just typed) and the comment of a low rating are sent
to the officers of the case's unit (the commune), who also know who wrote it. A text that
denounces is not added to a case that is not a tố cáo: the citizen is told and continues in
the tố cáo flow with what they typed kept, so it goes to the inspectorate.
"""

from __future__ import annotations

from bot.app import App
from bot.transports.base import plain_text
from tests.helpers import Chat
from tests.test_officer import file_petition, notices, onboard, press_notice

DENOUNCES = "Cán bộ địa chính xã nhận tiền của nhà ông Tư mới cho làm đường"


async def _leaked(app: App, officer: Chat, code: str) -> list[str]:
    texts = [plain_text(n.text) for n in await notices(app, officer)]
    await officer.say(f"/xem {code}")
    texts.append(officer.text)
    return [t for t in texts if "nhận tiền" in t]


async def test_an_answer_to_a_request_that_denounces_goes_to_the_inspectorate(app: App) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5601")
    code = await file_petition(app, citizen, "Kim Hòa", text="Đường ấp Chợ chưa làm xong")
    officer = people["officer_kh"]
    await officer.say(f"/xem {code}")
    await officer.press("Yêu cầu bổ sung")
    await officer.say("Anh cho biết vì sao đường chưa làm xong")
    await citizen.say(DENOUNCES)
    assert "tố cáo" in citizen.text, citizen.text
    assert await _leaked(app, officer, code) == []


async def test_a_pressed_supplement_that_denounces_goes_to_the_inspectorate(app: App) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5602")
    code = await file_petition(app, citizen, "Kim Hòa", text="Đường ấp Chợ chưa làm xong")
    officer = people["officer_kh"]
    await officer.say(f"/xem {code}")
    await officer.press("Yêu cầu bổ sung")
    await officer.say("Anh cho biết vì sao đường chưa làm xong")
    await press_notice(app, citizen, "Bổ sung")
    await citizen.say(DENOUNCES)
    await citizen.press("Xong")
    assert "tố cáo" in citizen.text, citizen.text
    assert await _leaked(app, officer, code) == []


async def test_a_rating_comment_that_denounces_is_not_sent_to_the_unit(app: App) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5603")
    code = await file_petition(app, citizen, "Kim Hòa", text="Đường ấp Chợ chưa làm xong")
    officer = people["officer_kh"]
    await officer.say(f"/xem {code}")
    await officer.press("Giải quyết xong")
    await officer.say("Đã làm xong đoạn đường ấp Chợ")
    await press_notice(app, citizen, "Chưa được giải quyết")
    await citizen.say(DENOUNCES)
    assert "tố cáo" in citizen.text, citizen.text
    assert await _leaked(app, officer, code) == []
