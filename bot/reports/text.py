"""The digest as a short chat message, and the number formats every report file shares.

Why this module exists: Nội vụ reads the weekly digest on a phone, so it must be short and in
Vietnamese (from the catalog); the same formatting of numbers (``1.234``, ``87,5%``, ``4,2``)
is used by the text, the chart and the DOCX so that the figures read the same everywhere.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.dialog.catalog import Markup, Translator
from bot.reports.figures import Cell, Figures
from bot.reports.periods import Period

TEXT_LIST_LIMIT = 10  # units listed in the digest; overdue codes listed in the digest
OVERDUE_CODES_IN_TEXT = 15


def fmt_int(value: int) -> str:
    """1234567 -> '1.234.567' (Vietnamese thousands separator)."""
    return f"{value:,}".replace(",", ".")


def fmt_decimal(value: float | None, na: str = "–") -> str:
    """One decimal with a decimal comma: 4.25 -> '4,3' (half away from zero)."""
    if value is None:
        return na
    rounded = round(value + (1e-9 if value >= 0 else -1e-9), 1)
    whole, _, fraction = f"{rounded:,.1f}".partition(".")
    return whole.replace(",", ".") + "," + fraction


def fmt_pct(value: float | None, na: str = "–") -> str:
    return na if value is None else fmt_decimal(value) + "%"


def fmt_date(day: object) -> str:
    if isinstance(day, datetime | date):
        return day.strftime("%d/%m/%Y")
    return str(day)


def period_name(t: Translator, period: Period) -> str:
    """'Tuần 48/2026', '6 tháng đầu năm 2026', 'Năm 2026', ... in the reader's language."""
    if period.kind == "week":
        year, _, week = period.key.partition("-W")
        return t("reports.period.week", week=int(week), year=year)
    if period.kind == "half_year":
        return t("reports.period.half_year", year=period.key.split("-")[0])
    if period.kind == "annual":
        return t("reports.period.annual", year=period.key)
    if period.kind == "month":
        year, _, month = period.key.partition("-")
        return t("reports.period.month", month=int(month), year=year)
    return t("reports.period.range", start=fmt_date(period.start), end=fmt_date(period.end))


def scope_name(t: Translator, figures: Figures) -> str:
    if figures.scope is None:
        return t("reports.scope_all")
    return t("reports.scope_unit", unit=figures.scope)


def _items(t: Translator, pairs: list[tuple[str, int]]) -> Markup:
    if not pairs:
        return Markup(t("reports.digest.none"))
    return Markup(", ".join(t("reports.digest.item", name=name, count=fmt_int(count)) for name, count in pairs))


def digest(t: Translator, figures: Figures) -> str:
    """The digest message (catalog HTML): every headline figure of the period."""
    total = figures.total()
    period = figures.period
    lines = [
        t(
            "reports.digest.title",
            period=period_name(t, period),
            start=fmt_date(period.start),
            end=fmt_date(period.end),
            scope=scope_name(t, figures),
        ),
        "",
        t("reports.digest.received", count=fmt_int(total.received)),
    ]
    by_type = [(t(f"case_type.{name}"), cell.received) for name, cell in figures.by_type().items() if cell.received]
    lines.append(t("reports.digest.by_type", items=_items(t, by_type)))
    if figures.scope is None:
        units = figures.by_unit().items()
        by_unit = sorted(
            ((figures.unit_name(unit_id), cell.received) for unit_id, cell in units if cell.received),
            key=lambda pair: (-pair[1], pair[0]),
        )
        shown = by_unit[:TEXT_LIST_LIMIT]
        rest = sum(count for _, count in by_unit[TEXT_LIST_LIMIT:])
        if rest:
            shown.append((t("reports.digest.other_units", count=len(by_unit) - TEXT_LIST_LIMIT), rest))
        lines.append(t("reports.digest.by_unit", items=_items(t, shown)))
    lines += ["", t("reports.digest.finished", count=fmt_int(total.finished), rejected=fmt_int(total.rejected))]
    lines.append(
        t(
            "reports.digest.on_time",
            on_time=fmt_int(total.on_time),
            finished=fmt_int(total.finished),
            rate=fmt_pct(total.on_time_rate),
        )
    )
    lines.append(t("reports.digest.average", days=fmt_decimal(total.average_days)))
    lines += ["", t("reports.digest.overdue", count=fmt_int(total.overdue), date=fmt_date(figures.window.as_of_date))]
    codes = [case.code for case in figures.overdue_cases[:OVERDUE_CODES_IN_TEXT]]
    if codes:
        lines.append(t("reports.digest.overdue_codes", codes=", ".join(codes)))
        if total.overdue > len(codes):
            lines.append(t("reports.digest.overdue_more", count=fmt_int(total.overdue - len(codes))))
    lines.append("")
    lines.append(_satisfaction(t, total))
    if figures.faq is not None:
        faq = figures.faq
        lines.append(
            t(
                "reports.digest.faq",
                questions=fmt_int(faq.questions),
                answered=fmt_int(faq.answered),
                forwarded=fmt_int(faq.forwarded),
            )
        )
        topics = [(topic, count) for topic, count in figures.topics]
        lines.append(t("reports.digest.topics", items=_items(t, topics)))
    return "\n".join(lines)


def _satisfaction(t: Translator, total: Cell) -> str:
    if not total.ratings:
        return t("reports.digest.no_ratings")
    return t(
        "reports.digest.satisfaction",
        score=fmt_decimal(total.average_score),
        count=fmt_int(total.ratings),
        rate=fmt_pct(total.satisfied_rate),
    )
