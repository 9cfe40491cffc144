"""A small hand-built dataset whose report figures are worked out by hand in the tests.

Week 2026-W47 runs from Monday 16/11/2026 to Sunday 22/11/2026 (local time, +07). Every case
is placed to exercise one rule: local-date boundaries of the period, on-time judged on the local
date, rejected cases finished by ``closed_at``, a case overdue at the end of the week but
finished after it, a case received just after the week, ratings and FAQ questions outside the
week. Case C4 is a denunciation whose contact holds a distinctive name that no report may show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from bot.app import App
from storage.models import Case, CaseContact, Citizen, FaqFeedback, Rating

LOCAL = timezone(timedelta(hours=7))
DENOUNCER_NAME = "Hứa Thị Bímật Tốcáo"
DENOUNCER_PHONE = "0909 731 555"
DENOUNCER_ADDRESS = "Ấp Kín Đáo Số 9"


def at(day: str, hhmm: str) -> datetime:
    """A local (+07) moment as an aware UTC datetime: at("2026-11-16", "08:00")."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return (
        datetime.combine(date.fromisoformat(day), datetime.min.time(), LOCAL)
        .replace(hour=hour, minute=minute)
        .astimezone(UTC)
    )


@dataclass
class Dataset:
    unit_a: int  # Thị trấn Cầu Ngang
    unit_b: int  # Thị trấn Mỹ Long
    unit_t: int  # Thanh tra huyện Cầu Ngang
    codes: dict[str, str]  # C1..C10 -> case code


def code(n: int) -> str:
    return f"CN-2026-{n:05d}"


async def build(app: App) -> Dataset:
    profile = app.config.deployment.units_profile
    async with app.db.unit_of_work() as uow:
        a = await uow.units.by_code(profile, "29416")
        b = await uow.units.by_code(profile, "29419")
        t = await uow.units.by_code(profile, "TTRA")
        assert a and b and t and a.id and b.id and t.id
        citizen = Citizen(channel="telegram", channel_user_id="5001", chat_id="5001", display_name="Người dân thử")
        uow.session.add(citizen)
        await uow.session.flush()
        assert citizen.id is not None

        def case(
            n: int, type_: str, unit: int, status: str, received: datetime, first_due: str, **fields: object
        ) -> Case:
            final_due = fields.pop("final_due", first_due if type_ in ("phan_anh", "kien_nghi", "hoi_dap") else None)
            return Case(
                code=code(n),
                year=2026,
                seq=n,
                type=type_,
                status=status,
                unit_id=unit,
                citizen_id=citizen.id or 0,
                channel="telegram",
                chat_id="5001",
                description=f"Nội dung hồ sơ thử số {n}",
                received_at=received,
                first_due=date.fromisoformat(first_due),
                final_due=None if final_due is None else date.fromisoformat(str(final_due)),
                **fields,
            )

        cases = [
            case(
                1,
                "phan_anh",
                a.id,
                "resolved",
                at("2026-11-16", "08:00"),
                "2026-11-30",
                accepted_at=at("2026-11-16", "09:00"),
                first_reply_at=at("2026-11-17", "10:00"),
                resolved_at=at("2026-11-18", "08:00"),
            ),
            case(2, "phan_anh", b.id, "received", at("2026-11-17", "10:00"), "2026-12-01"),
            case(
                3,
                "khieu_nai",
                a.id,
                "closed",
                at("2026-10-01", "08:00"),
                "2026-10-15",
                final_due="2026-11-09",
                accepted_at=at("2026-10-10", "09:00"),
                first_reply_at=at("2026-10-10", "09:00"),
                resolved_at=at("2026-11-20", "08:00"),
                closed_at=at("2026-11-21", "08:00"),
            ),
            case(
                4,
                "to_cao",
                t.id,
                "accepted",
                at("2026-11-18", "14:00"),
                "2026-11-27",
                final_due="2026-12-18",
                accepted_at=at("2026-11-19", "09:00"),
            ),
            case(
                5,
                "kien_nghi",
                b.id,
                "accepted",
                at("2026-11-02", "08:00"),
                "2026-11-16",
                accepted_at=at("2026-11-03", "08:00"),
            ),
            case(
                6,
                "hoi_dap",
                a.id,
                "rejected",
                at("2026-11-19", "08:00"),
                "2026-11-26",
                closed_at=at("2026-11-19", "12:00"),
            ),
            case(
                7,
                "phan_anh",
                a.id,
                "resolved",
                at("2026-11-05", "08:00"),
                "2026-11-19",
                resolved_at=at("2026-11-24", "08:00"),
            ),
            case(8, "phan_anh", b.id, "received", at("2026-11-22", "23:30"), "2026-12-07", anonymous=True),
            case(9, "phan_anh", b.id, "received", at("2026-11-23", "00:30"), "2026-12-07"),
            case(
                10,
                "khieu_nai",
                b.id,
                "resolved",
                at("2026-11-16", "09:00"),
                "2026-11-30",
                final_due="2026-11-20",
                accepted_at=at("2026-11-16", "10:00"),
                first_reply_at=at("2026-11-16", "10:00"),
                resolved_at=at("2026-11-21", "06:00"),
            ),
        ]
        for item in cases:
            contact = None
            if item.seq == 4:
                contact = CaseContact(
                    case_id=0, full_name=DENOUNCER_NAME, phone=DENOUNCER_PHONE, address=DENOUNCER_ADDRESS
                )
            await uow.cases.add(item, contact)
        ids = {f"C{item.seq}": item.id or 0 for item in cases}
        for case_id, score, solved, when in (
            (ids["C1"], 5, True, at("2026-11-18", "12:00")),
            (ids["C3"], 2, False, at("2026-11-21", "09:00")),
            (ids["C10"], 4, True, at("2026-11-21", "10:00")),
            (ids["C3"], 1, False, at("2026-11-24", "09:00")),  # after the week: the latest for C3
        ):
            uow.session.add(Rating(case_id=case_id, score=score, solved=solved, at=when))
        for query, outcome, entry, helpful, forwarded, when in (
            ("khai sinh cho con", "answer", "khai-sinh", True, None, at("2026-11-16", "10:00")),
            ("khai sinh qua han", "answer", "khai-sinh-qua-han", False, None, at("2026-11-17", "10:00")),
            ("dang ky thuong tru", "answer", "thuong-tru", None, None, at("2026-11-18", "10:00")),
            ("xin giay gi do", "unsure", None, None, None, at("2026-11-19", "10:00")),
            ("cau hoi la", "none", None, None, ids["C6"], at("2026-11-19", "07:59")),
            ("tam tru", "answer", "tam-tru", None, None, at("2026-11-25", "10:00")),  # after the week
        ):
            uow.session.add(
                FaqFeedback(
                    channel="telegram",
                    query=query,
                    outcome=outcome,
                    entry_id=entry,
                    helpful=helpful,
                    forwarded_case_id=forwarded,
                    at=when,
                )
            )
        await uow.session.flush()
    return Dataset(a.id, b.id, t.id, {name: code(int(name[1:])) for name in ids})
