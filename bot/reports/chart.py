"""One chart per report, drawn to be read on a phone: cases received, finished and overdue by type.

Why this module exists: the digest's numbers are easier to take in as bars. The figure is drawn
with matplotlib's object API on the Agg canvas (no pyplot, no display, safe in a worker thread),
large fonts, horizontal bars with their values written next to them.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.dialog.catalog import Translator
from bot.reports.figures import Figures
from bot.reports.text import fmt_int, fmt_pct, period_name
from bot.text import plain_text

COLOURS = ("#1f77b4", "#2ca02c", "#d62728")
WIDTH_IN, HEIGHT_IN, DPI = 7.0, 6.0, 150  # 1050 x 900 pixels


def draw(t: Translator, figures: Figures, path: Path) -> Path:
    """Write the chart as a PNG at ``path``."""
    by_type = figures.by_type()
    labels = [plain_text(t(f"case_type.{name}")) for name in by_type]
    series = [
        (plain_text(t("reports.chart.received")), [cell.received for cell in by_type.values()]),
        (plain_text(t("reports.chart.finished")), [cell.finished for cell in by_type.values()]),
        (plain_text(t("reports.chart.overdue")), [cell.overdue for cell in by_type.values()]),
    ]
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    height = 0.27
    positions = list(range(len(labels)))
    peak = max([1, *(value for _, values in series for value in values)])
    for index, ((name, values), colour) in enumerate(zip(series, COLOURS, strict=True)):
        offsets = [p - height + index * height for p in positions]
        bars = axes.barh(offsets, values, height=height * 0.95, label=name, color=colour)
        for bar, value in zip(bars, values, strict=True):
            axes.text(
                bar.get_width() + peak * 0.01,
                bar.get_y() + bar.get_height() / 2,
                fmt_int(value),
                va="center",
                fontsize=11,
            )
    axes.set_yticks(positions, labels, fontsize=13)
    axes.invert_yaxis()
    axes.set_xlim(0, peak * 1.18)
    axes.tick_params(axis="x", labelsize=11)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: fmt_int(round(value))))  # 1.500, as the bars
    axes.set_xlabel(plain_text(t("reports.chart.count")), fontsize=12)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=12, loc="lower right", frameon=False)
    rate = fmt_pct(figures.total().on_time_rate)
    title = plain_text(t("reports.chart.title", period=period_name(t, figures.period), rate=rate))
    if figures.scope is not None:
        title += "\n" + figures.scope
    axes.set_title(title, fontsize=15, fontweight="bold", loc="left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path
