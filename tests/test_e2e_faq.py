"""Hỏi thủ tục end to end: over Telegram (fake Bot API) and in the console (a real subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from storage.models import Case, FaqFeedback
from tests.conftest import ROOT
from tests.test_telegram_e2e import Running, running  # noqa: F401  (the fixture)

CITIZEN = 8181


async def test_faq_over_telegram(running: Running) -> None:  # noqa: F811
    r, tg = running, running.tg
    await tg.send_text(CITIZEN, "/menu")
    menu = await tg.next_message(CITIZEN)
    ask = await r.press(CITIZEN, menu, "❓ Hỏi thủ tục hành chính")
    assert "Bạn muốn hỏi thủ tục gì" in (ask.text or "")
    await tg.send_text(CITIZEN, "lam giay khai sanh cho con")
    answer = await tg.next_message(CITIZEN)
    assert "Đăng ký khai sinh" in (answer.text or "")
    assert answer.button_labels() == ["👍 Có ích", "👎 Chưa đúng"]
    thanks = await r.press(CITIZEN, answer, "👍 Có ích")
    assert "Cảm ơn" in (thanks.text or "")
    await tg.next_message(CITIZEN)  # the menu

    # Free text outside any flow goes to the FAQ first.
    await tg.send_text(CITIZEN, "doi cccd o dau")
    answer = await tg.next_message(CITIZEN)
    assert "căn cước" in (answer.text or "").lower()
    sorry = await r.press(CITIZEN, answer, "👎 Chưa đúng")
    assert "gửi câu hỏi cho cán bộ" in (sorry.text or "")
    forward = await r.press(CITIZEN, sorry, "🙋 Gửi câu hỏi cho cán bộ")
    assert "Trước khi gửi" in (forward.text or "")  # consent first
    consent = await tg.next_message(CITIZEN)
    await tg.press(CITIZEN, consent, "✅ Tôi đồng ý")
    await tg.next_message(CITIZEN)
    communes = await tg.next_message(CITIZEN)
    assert "chuyển câu hỏi của bạn cho cán bộ" in (communes.text or "") and "Xã Vinh Kim" in communes.button_labels()
    await tg.send_text(CITIZEN, "Vinh Kim")
    await tg.next_message(CITIZEN)
    phone = await tg.next_message(CITIZEN)
    summary = await r.press(CITIZEN, phone, "⏭ Bỏ qua")
    assert "Câu hỏi" in (summary.text or "") and "doi cccd o dau" in (summary.text or "")
    await tg.press(CITIZEN, summary, "📨 Gửi")
    received = await tg.next_message(CITIZEN)
    assert "Đã tiếp nhận" in (received.text or "")

    async with r.app.db.unit_of_work() as uow:
        [case] = (await uow.session.exec(select(Case))).all()
        logs = (await uow.session.exec(select(FaqFeedback))).all()
    assert case.type == "hoi_dap" and case.description == "doi cccd o dau"
    assert [(log.outcome, log.helpful) for log in logs] == [("answer", True), ("answer", False)]
    assert logs[1].forwarded_case_id == case.id


def test_faq_in_the_console(tmp_path: Path) -> None:
    script = "\n".join(["/hoi", "xin phep cat nha", "1", "gia lua hom nay", "alo", "/lichtiepdan", "Hiệp Mỹ Tây", ""])
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        input=script,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "TIEPDAN_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"},
        timeout=120,
        check=True,
    )
    out = result.stdout
    assert "Giấy phép xây dựng nhà ở riêng lẻ" in out
    assert "  1. 👍 Có ích" in out and "Cảm ơn bạn đã cho biết" in out
    assert "Xin chào!" in out and "Tôi đồng ý" in out  # "alo" greets as /start does, never silence
    assert "Lịch tiếp công dân: Xã Hiệp Mỹ Tây" in out
    assert "<b>" not in out  # markup is rendered away in the console
