"""Unit tests for bot.services.deadlines.

Every expected date is counted by hand against the holiday list of `holidays.VN(years=...)`:
2026: Tết Mon 16/2–Fri 20/2; Hùng Kings Sun 26/4 (observed Mon 27/4); Thu 30/4; Fri 1/5;
      make-up working Saturday 22/8 for the day off Mon 31/8; Tue 1/9; Wed 2/9.
2027: Fri 1/1; Tết Thu 4/2–Wed 10/2; Fri 16/4; Fri 30/4; Sat 1/5 (observed Mon 3/5);
      Thu 2/9; Fri 3/9; Wed 24/11.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.services.deadlines import (
    EXTRA_HOLIDAY_NAME,
    DeadlinePolicy,
    Deadlines,
    DeadlineService,
    Limit,
    WorkCalendar,
)
from bot.services.deadlines import VN_TZ as VN


def at(day: date, hour: int = 9) -> datetime:
    """A moment on `day` in Vietnam local time."""
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=VN)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


@pytest.fixture(scope="module")
def svc(cal: WorkCalendar) -> DeadlineService:
    return DeadlineService(DeadlinePolicy.default(), cal)


# --- WorkCalendar: working days ----------------------------------------------------------------


def test_is_working_day_basics(cal: WorkCalendar) -> None:
    assert cal.is_working_day(date(2027, 3, 1))  # Mon
    assert not cal.is_working_day(date(2027, 3, 6))  # Sat
    assert not cal.is_working_day(date(2027, 3, 7))  # Sun
    assert not cal.is_working_day(date(2027, 2, 4))  # Thu, 29 Tết
    assert not cal.is_working_day(date(2027, 2, 10))  # Wed, mùng 5 Tết
    assert cal.is_working_day(date(2027, 2, 11))  # Thu, first day back after Tết
    assert not cal.is_working_day(date(2026, 2, 16))  # Mon, Tết 2026
    assert not cal.is_working_day(date(2027, 5, 3))  # Mon, observed Labour Day


def test_official_make_up_saturday_from_package(cal: WorkCalendar) -> None:
    assert cal.is_working_day(date(2026, 8, 22))  # Sat, made up for Mon 31/8/2026
    assert not cal.is_working_day(date(2026, 8, 29))  # an ordinary Saturday
    assert not cal.is_working_day(date(2026, 8, 31))  # Mon, the day off it pays for


def test_holiday_name(cal: WorkCalendar) -> None:
    tet = cal.holiday_name(date(2027, 2, 6))
    assert tet is not None and "Tết" in tet
    assert cal.holiday_name(date(2027, 9, 2)) is not None
    assert cal.holiday_name(date(2027, 3, 6)) is None  # plain Saturday
    assert cal.holiday_name(date(2027, 3, 3)) is None  # plain Wednesday


def test_add_working_days_plain_week(cal: WorkCalendar) -> None:
    # Mon 1/3/2027 + 4 wd: Tue 2, Wed 3, Thu 4, Fri 5
    assert cal.add_working_days(date(2027, 3, 1), 4) == date(2027, 3, 5)
    assert cal.add_working_days(date(2027, 3, 1), 0) == date(2027, 3, 1)


def test_add_working_days_backwards(cal: WorkCalendar) -> None:
    # Mon 8/3/2027 - 2 wd: Fri 5 (1), Thu 4 (2)
    assert cal.add_working_days(date(2027, 3, 8), -2) == date(2027, 3, 4)


def test_add_calendar_limit_ignores_holidays(cal: WorkCalendar) -> None:
    # Wed 3/2/2027 + 7 calendar days = Wed 10/2/2027, inside Tết, not moved
    assert cal.add(date(2027, 2, 3), Limit(7, working=False)) == date(2027, 2, 10)
    # same start, 7 working days: Thu 11 (1), Fri 12, Mon 15, Tue 16, Wed 17, Thu 18, Fri 19 (7)
    assert cal.add(date(2027, 2, 3), Limit(7, working=True)) == date(2027, 2, 19)


def test_working_days_between(cal: WorkCalendar) -> None:
    # (Fri 29/1/2027, Fri 19/2/2027]: Mon 1, Tue 2, Wed 3, [Tết 4–10], Thu 11, Fri 12,
    # Mon 15, Tue 16, Wed 17, Thu 18, Fri 19 = 10
    assert cal.working_days_between(date(2027, 1, 29), date(2027, 2, 19)) == 10
    assert cal.working_days_between(date(2027, 2, 19), date(2027, 1, 29)) == -10
    assert cal.working_days_between(date(2027, 3, 3), date(2027, 3, 3)) == 0
    # (Fri 5/3, Mon 8/3]: Sat, Sun, Mon = 1
    assert cal.working_days_between(date(2027, 3, 5), date(2027, 3, 8)) == 1
    # (Sat 6/2/2027, Wed 10/2/2027]: all Tết = 0
    assert cal.working_days_between(date(2027, 2, 6), date(2027, 2, 10)) == 0


def test_previous_working_day(cal: WorkCalendar) -> None:
    assert cal.previous_working_day(date(2027, 3, 3)) == date(2027, 3, 3)  # Wed is itself
    assert cal.previous_working_day(date(2027, 3, 7)) == date(2027, 3, 5)  # Sun -> Fri
    # Wed 10/2/2027 is mùng 5 Tết; back through Tết 4–10/2 -> Wed 3/2
    assert cal.previous_working_day(date(2027, 2, 10)) == date(2027, 2, 3)
    # Mon 3/5/2027 (observed 1/5) <- Sun 2, Sat 1/5, Fri 30/4 (holiday) -> Thu 29/4
    assert cal.previous_working_day(date(2027, 5, 3)) == date(2027, 4, 29)


# --- WorkCalendar: config overrides ------------------------------------------------------------


def test_extra_holiday_skipped() -> None:
    cal = WorkCalendar(extra_holidays=[date(2027, 3, 5)])  # Fri
    assert not cal.is_working_day(date(2027, 3, 5))
    assert cal.holiday_name(date(2027, 3, 5)) == EXTRA_HOLIDAY_NAME
    # Mon 1/3/2027 + 4 wd: Tue 2, Wed 3, Thu 4, [Fri 5 extra holiday, Sat, Sun], Mon 8
    assert cal.add_working_days(date(2027, 3, 1), 4) == date(2027, 3, 8)


def test_extra_working_day_counted() -> None:
    cal = WorkCalendar(extra_working_days=[date(2027, 3, 6)])  # make-up Sat
    assert cal.is_working_day(date(2027, 3, 6))
    # Mon 1/3/2027 + 5 wd: Tue 2, Wed 3, Thu 4, Fri 5, Sat 6 (make-up)
    assert cal.add_working_days(date(2027, 3, 1), 5) == date(2027, 3, 6)
    # without it: ..., Fri 5 (4), Mon 8 (5)
    assert WorkCalendar().add_working_days(date(2027, 3, 1), 5) == date(2027, 3, 8)


def test_extra_working_day_overrides_public_holiday() -> None:
    cal = WorkCalendar(extra_working_days=[date(2027, 2, 10)])  # Wed, mùng 5 Tết
    assert cal.is_working_day(date(2027, 2, 10))
    assert cal.holiday_name(date(2027, 2, 10)) is None


def test_same_date_as_holiday_and_working_day_rejected() -> None:
    with pytest.raises(ValueError, match="2027-03-05"):
        WorkCalendar(extra_holidays=[date(2027, 3, 5)], extra_working_days=[date(2027, 3, 5)])


# --- DeadlineService.on_receipt: working-day limits --------------------------------------------


def test_hoi_dap_across_weekend(svc: DeadlineService) -> None:
    # received Mon 1/3/2027; 5 wd: Tue 2, Wed 3, Thu 4, Fri 5, [Sat, Sun], Mon 8
    due = date(2027, 3, 8)
    assert svc.on_receipt("hoi_dap", at(date(2027, 3, 1))) == Deadlines(first_due=due, final_due=due)


def test_phan_anh_two_weekends(svc: DeadlineService) -> None:
    # received Wed 10/3/2027; 10 wd: Thu 11, Fri 12, Mon 15, Tue 16, Wed 17, Thu 18, Fri 19,
    # Mon 22, Tue 23, Wed 24
    due = date(2027, 3, 24)
    assert svc.on_receipt("phan_anh", at(date(2027, 3, 10))) == Deadlines(due, due)


def test_kien_nghi_received_on_saturday(svc: DeadlineService) -> None:
    # received Sat 13/3/2027; 10 wd: Mon 15 (1) ... Fri 19 (5), Mon 22 (6) ... Fri 26 (10)
    due = date(2027, 3, 26)
    assert svc.on_receipt("kien_nghi", at(date(2027, 3, 13))) == Deadlines(due, due)


def test_khieu_nai_accept_across_tet_2027(svc: DeadlineService) -> None:
    # received Fri 29/1/2027; 10 wd skipping Tết 4–10/2/2027: Mon 1, Tue 2, Wed 3 (3),
    # Thu 11 (4), Fri 12 (5), Mon 15, Tue 16, Wed 17, Thu 18 (9), Fri 19/2 (10)
    result = svc.on_receipt("khieu_nai", at(date(2027, 1, 29)))
    assert result == Deadlines(first_due=date(2027, 2, 19), final_due=None)


def test_to_cao_classify_across_tet_2027(svc: DeadlineService) -> None:
    # received Wed 3/2/2027; 7 wd: [Tết 4–10], Thu 11, Fri 12, Mon 15, Tue 16, Wed 17, Thu 18, Fri 19
    assert svc.on_receipt("to_cao", at(date(2027, 2, 3))) == Deadlines(date(2027, 2, 19), None)


def test_to_cao_classify_with_checks(svc: DeadlineService) -> None:
    # as above, 10 wd: ... Fri 19 (7), Mon 22 (8), Tue 23 (9), Wed 24 (10)
    result = svc.on_receipt("to_cao", at(date(2027, 2, 3)), needs_checks=True)
    assert result == Deadlines(date(2027, 2, 24), None)


def test_hoi_dap_across_tet_2026(svc: DeadlineService) -> None:
    # received Fri 13/2/2026; 5 wd: [Tết Mon 16–Fri 20, Sat 21, Sun 22], Mon 23, Tue 24, Wed 25,
    # Thu 26, Fri 27
    due = date(2026, 2, 27)
    assert svc.on_receipt("hoi_dap", at(date(2026, 2, 13))) == Deadlines(due, due)


def test_phan_anh_across_tet_2026(svc: DeadlineService) -> None:
    # received Tue 10/2/2026; 10 wd: Wed 11, Thu 12, Fri 13 (3), [Tết 16–20], Mon 23, Tue 24, Wed 25,
    # Thu 26, Fri 27 (8), Mon 2/3 (9), Tue 3/3 (10)
    due = date(2026, 3, 3)
    assert svc.on_receipt("phan_anh", at(date(2026, 2, 10))) == Deadlines(due, due)


def test_hoi_dap_across_30_4_and_1_5_2027(svc: DeadlineService) -> None:
    # received Wed 28/4/2027; 5 wd: Thu 29 (1), [Fri 30/4, Sat 1/5, Sun 2/5, Mon 3/5 observed],
    # Tue 4 (2), Wed 5 (3), Thu 6 (4), Fri 7 (5)
    due = date(2027, 5, 7)
    assert svc.on_receipt("hoi_dap", at(date(2027, 4, 28))) == Deadlines(due, due)


def test_hoi_dap_across_hung_kings_and_30_4_2026(svc: DeadlineService) -> None:
    # received Fri 24/4/2026; 5 wd: [Mon 27/4 observed Hùng Kings], Tue 28 (1), Wed 29 (2),
    # [Thu 30/4, Fri 1/5], Mon 4/5 (3), Tue 5 (4), Wed 6 (5)
    due = date(2026, 5, 6)
    assert svc.on_receipt("hoi_dap", at(date(2026, 4, 24))) == Deadlines(due, due)


def test_to_cao_across_2_9_2027(svc: DeadlineService) -> None:
    # received Tue 31/8/2027; 7 wd: Wed 1/9 (1), [Thu 2/9, Fri 3/9], Mon 6 (2), Tue 7, Wed 8, Thu 9,
    # Fri 10 (6), Mon 13 (7)
    assert svc.on_receipt("to_cao", at(date(2027, 8, 31))) == Deadlines(date(2027, 9, 13), None)


def test_phan_anh_across_2_9_2026_with_make_up_saturday(svc: DeadlineService) -> None:
    # received Thu 20/8/2026; 10 wd: Fri 21 (1), Sat 22 make-up (2), Mon 24, Tue 25, Wed 26, Thu 27,
    # Fri 28 (7), [Mon 31/8, Tue 1/9, Wed 2/9], Thu 3/9 (8), Fri 4/9 (9), Mon 7/9 (10)
    due = date(2026, 9, 7)
    assert svc.on_receipt("phan_anh", at(date(2026, 8, 20))) == Deadlines(due, due)


def test_remote_flag_does_not_change_receipt_stage(svc: DeadlineService) -> None:
    # same as test_khieu_nai_accept_across_tet_2027
    result = svc.on_receipt("khieu_nai", at(date(2027, 1, 29)), remote=True)
    assert result == Deadlines(date(2027, 2, 19), None)


# --- DeadlineService.on_accept: calendar-day limits --------------------------------------------


def test_khieu_nai_resolve_variants_calendar_days(svc: DeadlineService) -> None:
    accepted = at(date(2027, 2, 1))  # Mon 1/2/2027, just before Tết; Tết is NOT skipped
    # 1/2 + 30 days: 28/2 is +27, 1/3 +28, 2/3 +29, 3/3 +30
    assert svc.on_accept("khieu_nai", accepted) == date(2027, 3, 3)
    # 3/3 + 15 more = 18/3
    assert svc.on_accept("khieu_nai", accepted, complex_case=True) == date(2027, 3, 18)
    assert svc.on_accept("khieu_nai", accepted, remote=True) == date(2027, 3, 18)
    # 3/3 + 30 more: 31/3 is +28, 1/4 +29, 2/4 +30
    assert svc.on_accept("khieu_nai", accepted, remote=True, complex_case=True) == date(2027, 4, 2)


def test_to_cao_resolve_landing_in_tet_is_not_moved(svc: DeadlineService, cal: WorkCalendar) -> None:
    # accepted Wed 6/1/2027; + 30 days: 31/1 is +25, 1/2 +26, 5/2 +30 -> Fri 5/2, Tết eve: stays
    due = svc.on_accept("to_cao", at(date(2027, 1, 6)))
    assert due == date(2027, 2, 5)
    assert not cal.is_working_day(due)
    # the reminder targets the last working day before it: Wed 3/2 (Thu 4/2 is 29 Tết)
    assert cal.previous_working_day(due) == date(2027, 2, 3)


def test_to_cao_resolve_ignores_flags(svc: DeadlineService) -> None:
    # complexity is handled by extensions; 6/1/2027 + 30 = 5/2/2027 as above
    assert svc.on_accept("to_cao", at(date(2027, 1, 6)), remote=True, complex_case=True) == date(2027, 2, 5)


def test_on_accept_not_for_answer_only_types(svc: DeadlineService) -> None:
    for case_type in ("phan_anh", "kien_nghi", "hoi_dap"):
        with pytest.raises(ValueError, match=case_type):
            svc.on_accept(case_type, at(date(2027, 3, 1)))


def test_unknown_case_type_rejected(svc: DeadlineService) -> None:
    with pytest.raises(ValueError, match="unknown case type"):
        svc.on_receipt("khieu_kien", at(date(2027, 3, 1)))  # type: ignore[arg-type]


# --- tố cáo extensions -------------------------------------------------------------------------


def test_to_cao_extensions(svc: DeadlineService) -> None:
    first = date(2027, 2, 5)
    # 5/2 + 30: 28/2 is +23, 1/3 +24, 7/3 +30
    once = svc.extend("to_cao", first, extensions_so_far=0)
    assert once == date(2027, 3, 7)
    # 7/3 + 30: 31/3 is +24, 1/4 +25, 6/4 +30
    twice = svc.extend("to_cao", once, extensions_so_far=1)
    assert twice == date(2027, 4, 6)
    with pytest.raises(ValueError, match="at most 2"):
        svc.extend("to_cao", twice, extensions_so_far=2)


def test_extension_only_for_to_cao(svc: DeadlineService) -> None:
    with pytest.raises(ValueError, match="khieu_nai"):
        svc.extend("khieu_nai", date(2027, 3, 3), extensions_so_far=0)


def test_negative_extension_count_rejected(svc: DeadlineService) -> None:
    with pytest.raises(ValueError, match="negative"):
        svc.extend("to_cao", date(2027, 3, 3), extensions_so_far=-1)


# --- local_date ---------------------------------------------------------------------------------


def test_local_date_around_midnight_vietnam(svc: DeadlineService) -> None:
    # 2027-02-03 17:30 UTC is 2027-02-04 00:30 in Vietnam (UTC+7)
    assert svc.local_date(datetime(2027, 2, 3, 17, 30, tzinfo=UTC)) == date(2027, 2, 4)
    # 16:59 UTC is 23:59 the same day in Vietnam
    assert svc.local_date(datetime(2027, 2, 3, 16, 59, tzinfo=UTC)) == date(2027, 2, 3)
    assert svc.local_date(datetime(2027, 2, 4, 0, 30, tzinfo=VN)) == date(2027, 2, 4)


def test_local_date_drives_the_start_day(svc: DeadlineService) -> None:
    # accepted 17:30 UTC = Thu 4/2/2027 00:30 local -> 4/2 + 30: 28/2 is +24, 1/3 +25, 6/3 +30
    assert svc.on_accept("to_cao", datetime(2027, 2, 3, 17, 30, tzinfo=UTC)) == date(2027, 3, 6)
    # accepted 16:59 UTC = Wed 3/2 23:59 local -> 3/2 + 30 = 5/3
    assert svc.on_accept("to_cao", datetime(2027, 2, 3, 16, 59, tzinfo=UTC)) == date(2027, 3, 5)


def test_local_date_rejects_naive(svc: DeadlineService) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        svc.local_date(datetime(2027, 2, 3, 17, 30))


# --- due_soon / is_overdue ----------------------------------------------------------------------


def test_due_soon(svc: DeadlineService) -> None:
    today = date(2027, 3, 4)  # Thu
    assert svc.due_soon(date(2027, 3, 4), today)  # due today: 0 wd
    assert svc.due_soon(date(2027, 3, 5), today)  # Fri: 1 wd
    assert svc.due_soon(date(2027, 3, 8), today)  # Mon: Fri, Mon = 2 wd
    assert not svc.due_soon(date(2027, 3, 9), today)  # Tue: 3 wd
    assert not svc.due_soon(date(2027, 3, 3), today)  # already past: overdue, not "soon"
    assert svc.due_soon(date(2027, 3, 9), today, within_working_days=3)


def test_due_soon_weekend_and_tet(svc: DeadlineService) -> None:
    # today Fri 5/3/2027, due Sun 7/3: (Fri, Sun] holds 0 working days
    assert svc.due_soon(date(2027, 3, 7), date(2027, 3, 5), within_working_days=0)
    # today Wed 3/2/2027, due Fri 12/2: [Tết 4–10] Thu 11, Fri 12 = 2 wd
    assert svc.due_soon(date(2027, 2, 12), date(2027, 2, 3))
    assert not svc.due_soon(date(2027, 2, 12), date(2027, 2, 3), within_working_days=1)


def test_is_overdue(svc: DeadlineService) -> None:
    due = date(2027, 3, 5)
    assert not svc.is_overdue(due, date(2027, 3, 4))
    assert not svc.is_overdue(due, date(2027, 3, 5))  # the due day itself is still in time
    assert svc.is_overdue(due, date(2027, 3, 6))


# --- DeadlinePolicy ------------------------------------------------------------------------------


def test_default_policy_values() -> None:
    policy = DeadlinePolicy.default()
    assert policy.limit("phan_anh.answer") == Limit(10, working=True)
    assert policy.limit("kien_nghi.answer") == Limit(10, working=True)
    assert policy.limit("hoi_dap.answer") == Limit(5, working=True)
    assert policy.limit("khieu_nai.accept") == Limit(10, working=True)
    assert policy.limit("khieu_nai.resolve") == Limit(30, working=False)
    assert policy.limit("khieu_nai.resolve_complex") == Limit(45, working=False)
    assert policy.limit("khieu_nai.resolve_remote") == Limit(45, working=False)
    assert policy.limit("khieu_nai.resolve_remote_complex") == Limit(60, working=False)
    assert policy.limit("to_cao.classify") == Limit(7, working=True)
    assert policy.limit("to_cao.classify_checks") == Limit(10, working=True)
    assert policy.limit("to_cao.resolve") == Limit(30, working=False)
    assert policy.limit("to_cao.extension") == Limit(30, working=False)


def test_policy_limit_unknown_key() -> None:
    with pytest.raises(KeyError, match="nope"):
        DeadlinePolicy.default().limit("nope")


def test_from_mapping_overrides() -> None:
    policy = DeadlinePolicy.from_mapping(
        {
            "khieu_nai.resolve": 40,  # bare number keeps calendar days
            "phan_anh.answer": {"days": 15, "working": False},
            "hoi_dap.answer": {"working": False},  # days keep the default 5
            "to_cao.classify": {"days": 5},
        }
    )
    assert policy.limit("khieu_nai.resolve") == Limit(40, working=False)
    assert policy.limit("phan_anh.answer") == Limit(15, working=False)
    assert policy.limit("hoi_dap.answer") == Limit(5, working=False)
    assert policy.limit("to_cao.classify") == Limit(5, working=True)
    assert policy.limit("kien_nghi.answer") == Limit(10, working=True)  # untouched
    assert DeadlinePolicy.from_mapping({}) == DeadlinePolicy.default()


def test_from_mapping_policy_drives_service(cal: WorkCalendar) -> None:
    svc = DeadlineService(DeadlinePolicy.from_mapping({"phan_anh.answer": {"days": 15, "working": False}}), cal)
    # received Fri 29/1/2027 + 15 calendar days: 31/1 is +2, 1/2 +3, 13/2 +15: a Saturday, not moved
    due = date(2027, 2, 13)
    assert svc.on_receipt("phan_anh", at(date(2027, 1, 29))) == Deadlines(due, due)


def test_from_mapping_does_not_change_defaults() -> None:
    DeadlinePolicy.from_mapping({"khieu_nai.resolve": 99})
    assert DeadlinePolicy.default().limit("khieu_nai.resolve") == Limit(30, working=False)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"khieu_nai.foo": 3}, r"^deadlines\.khieu_nai\.foo: unknown deadline key"),
        ({"khieu_nai.resolve": 0}, r"^deadlines\.khieu_nai\.resolve: days must be at least 1"),
        ({"khieu_nai.resolve": -5}, r"^deadlines\.khieu_nai\.resolve: days must be at least 1"),
        ({"to_cao.resolve": "30"}, r"^deadlines\.to_cao\.resolve: days must be a whole number"),
        ({"to_cao.resolve": 2.5}, r"^deadlines\.to_cao\.resolve: days must be a whole number"),
        ({"to_cao.resolve": True}, r"^deadlines\.to_cao\.resolve: days must be a whole number"),
        ({"hoi_dap.answer": {"days": None}}, r"^deadlines\.hoi_dap\.answer: days must be a whole number"),
        ({"hoi_dap.answer": {"working": "yes"}}, r"^deadlines\.hoi_dap\.answer: 'working' must be"),
        ({"hoi_dap.answer": {"dayz": 3}}, r"^deadlines\.hoi_dap\.answer: unknown field\(s\) dayz"),
    ],
)
def test_from_mapping_errors_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeadlinePolicy.from_mapping(data)


def test_long_range_counts_are_consistent(cal: WorkCalendar) -> None:
    # A sanity check that does not depend on the function's own output: in 2027 there are
    # 261 weekdays (365 days, 52 full weeks + Fri 1/1), minus the weekday holidays
    # Fri 1/1, Thu 4/2, Fri 5/2, Mon 8/2, Tue 9/2, Wed 10/2, Fri 16/4, Fri 30/4, Mon 3/5, Thu 2/9,
    # Fri 3/9, Wed 24/11 = 12 -> 249 working days in (31/12/2026, 31/12/2027].
    assert cal.working_days_between(date(2026, 12, 31), date(2027, 12, 31)) == 249
    assert cal.add_working_days(date(2026, 12, 31), 249) == date(2027, 12, 31)


# --- issue #14: second complaints, transfers, anonymous tips, the NĐ 155/2026 switch -------------


def test_second_complaint_deadlines_luat_khieu_nai_art_36_37(svc: DeadlineService) -> None:
    """Art. 36(1): acceptance as Art. 27 (10 days, working days by the guidance); Art. 37:
    45 days, 60 if complex; remote areas 60, 70 if complex; calendar days from acceptance."""
    received = svc.on_receipt("khieu_nai", at(date(2027, 3, 1)), round_=2)
    assert received == Deadlines(first_due=date(2027, 3, 15), final_due=None)
    accepted = at(date(2027, 3, 2))
    assert svc.on_accept("khieu_nai", accepted, round_=2) == date(2027, 4, 16)
    assert svc.on_accept("khieu_nai", accepted, round_=2, complex_case=True) == date(2027, 5, 1)
    assert svc.on_accept("khieu_nai", accepted, round_=2, remote=True) == date(2027, 5, 1)
    assert svc.on_accept("khieu_nai", accepted, round_=2, remote=True, complex_case=True) == date(2027, 5, 11)


def test_time_to_lodge_a_second_complaint_art_33(svc: DeadlineService) -> None:
    """Art. 33(1): 30 days from the first decision, 45 in remote areas (calendar days)."""
    assert svc.appeal_due(date(2027, 3, 2)) == date(2027, 4, 1)
    assert svc.appeal_due(date(2027, 3, 2), remote=True) == date(2027, 4, 16)


def test_forwarding_a_denunciation_within_5_working_days_art_24(svc: DeadlineService) -> None:
    """Luật Tố cáo Art. 24(2): forwarded within 5 working days of receipt (Tết skipped)."""
    assert svc.forward_due(at(date(2027, 3, 1))) == date(2027, 3, 8)
    assert svc.forward_due(at(date(2027, 2, 3))) == date(2027, 2, 17)  # Tết 4/2-10/2/2027


def test_a_transfer_counts_again_from_the_receiving_bodys_receipt(svc: DeadlineService) -> None:
    """The receiving unit's acceptance period starts at its receipt: a later receipt, a later date."""
    first = svc.on_receipt("khieu_nai", at(date(2027, 3, 1)))
    again = svc.on_receipt("khieu_nai", at(date(2027, 3, 8)))
    assert (first.first_due, again.first_due) == (date(2027, 3, 15), date(2027, 3, 22))


def test_an_anonymous_tip_has_only_an_internal_review_date_art_25(svc: DeadlineService) -> None:
    """Luật Tố cáo Art. 25: not a tố cáo, so no classification or resolution stage."""
    tip = svc.on_receipt("to_cao", at(date(2027, 3, 1)), anonymous=True)
    assert tip == Deadlines(first_due=date(2027, 3, 15), final_due=date(2027, 3, 15))


def test_nd155_acceptance_switch_is_off_by_default_and_dated_when_on() -> None:
    """NĐ 155/2026 Art. 10 (7 working days, read only in an OCR mirror): applied only from the
    configured date, to complaints received from then."""
    assert DeadlinePolicy.default().nd155_from is None
    policy = DeadlinePolicy.from_mapping({"khieu_nai.accept_7wd_from": "2027-03-03"})
    svc = DeadlineService(policy, WorkCalendar())
    assert svc.on_receipt("khieu_nai", at(date(2027, 3, 2))).first_due == date(2027, 3, 16)  # 10 wd
    assert svc.on_receipt("khieu_nai", at(date(2027, 3, 3))).first_due == date(2027, 3, 12)  # 7 wd
    assert svc.on_receipt("khieu_nai", at(date(2027, 3, 3)), round_=2).first_due == date(2027, 3, 12)
    assert DeadlinePolicy.from_mapping({"khieu_nai.accept_7wd_from": False}).nd155_from is None
    with pytest.raises(ValueError, match=r"^deadlines\.khieu_nai\.accept_7wd_from"):
        DeadlinePolicy.from_mapping({"khieu_nai.accept_7wd_from": "soon"})
