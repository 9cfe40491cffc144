"""Evaluation of the FAQ search on the real content and the real-world question sets.

tests/data/faq_eval.tsv holds questions as citizens type them (no accents,
typos, Southern words, Telex leftovers...) with the entry id they are about,
or "-" for messages the bot must not answer (small talk, thanks, questions
about things the commune does not do). tests/data/faq_eval_heldout.tsv has the
same format: questions written later, apart from the entries' own wording
(rambling messages, topics the FAQ lacked at the time, more off-topic ones).
Each set must meet the thresholds on its own.

How a query counts
------------------
* on-topic, correct: outcome "answer" with the expected id, or outcome
  "unsure" with the expected id as the first suggestion (the bot then shows it
  first under "có phải bạn muốn hỏi", one tap away). Anything else is a miss;
  a wrong id given as a confident "answer" is the worst miss and is also
  counted on its own.
* off-topic, correct: outcome "none".

The thresholds in bot/services/faq.py were chosen on this set; the test keeps
them honest when the content, the lexicon or the engine change.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.services.faq import FaqIndex, FaqResult, load_entries, load_lexicon
from bot.text import fold

ROOT = Path(__file__).resolve().parent.parent
FAQ_DIR = ROOT / "data" / "faq"
LEXICON = ROOT / "data" / "lexicon.toml"
EVAL = ROOT / "tests" / "data" / "faq_eval.tsv"
HELDOUT = ROOT / "tests" / "data" / "faq_eval_heldout.tsv"
EVAL_SETS = (EVAL, HELDOUT)
# Issue 18: a frozen set written before tuning and never tuned on, and the set tuned on.
FROZEN = ROOT / "tests" / "data" / "faq_frozen.tsv"
DEV = ROOT / "tests" / "data" / "faq_dev18.tsv"
FROZEN_MIN_TOP1 = 0.92
FROZEN_MIN_REFUSAL = 0.90
OFF_TOPIC = "-"

MIN_TOP1_ACCURACY = 0.90  # on-topic: right id answered, or first when unsure
MIN_REFUSAL_RATE = 0.90  # off-topic: outcome "none"
MAX_WRONG_ANSWER_RATE = 0.05  # on-topic queries answered confidently with the wrong entry


@dataclass(frozen=True)
class Case:
    line: int
    query: str
    expected: str


@dataclass(frozen=True)
class Outcome:
    case: Case
    result: FaqResult

    @property
    def first(self) -> str:
        return self.result.suggestions[0].id if self.result.suggestions else OFF_TOPIC

    @property
    def correct(self) -> bool:
        if self.case.expected == OFF_TOPIC:
            return self.result.outcome == "none"
        return self.result.outcome in {"answer", "unsure"} and self.first == self.case.expected

    @property
    def wrong_answer(self) -> bool:
        return self.result.outcome == "answer" and self.first != self.case.expected

    def row(self) -> str:
        shown = ", ".join(f"{m.id} {m.score:.0f}" for m in self.result.suggestions)
        case = self.case
        return f"{case.line:>4} | {case.query[:48]:<48} | {case.expected:<24} | {self.result.outcome:<6} | {shown}"


def read_cases(path: Path) -> list[Case]:
    cases: list[Case] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                continue
            if number == 1 and row[0].strip().lower() == "query":
                continue
            assert len(row) == 2, f"{path}:{number}: expected 'query<TAB>expected', got {row!r}"
            cases.append(Case(number, row[0].strip(), row[1].strip()))
    return cases


def evaluate(path: Path = EVAL) -> list[Outcome]:
    index = FaqIndex(load_entries(FAQ_DIR), load_lexicon(LEXICON))
    return [Outcome(case, index.search(case.query)) for case in read_cases(path)]


def summary(outcomes: list[Outcome]) -> dict[str, float]:
    on_topic = [o for o in outcomes if o.case.expected != OFF_TOPIC]
    off_topic = [o for o in outcomes if o.case.expected == OFF_TOPIC]
    return {
        "on_topic": len(on_topic),
        "off_topic": len(off_topic),
        "top1": sum(o.correct for o in on_topic) / len(on_topic),
        "answered_right": sum(o.result.outcome == "answer" and o.correct for o in on_topic) / len(on_topic),
        "in_top3": sum(o.case.expected in {m.id for m in o.result.suggestions} for o in on_topic) / len(on_topic),
        "wrong_answer": sum(o.wrong_answer for o in on_topic) / len(on_topic),
        "refusal": sum(o.correct for o in off_topic) / len(off_topic),
    }


def failure_table(outcomes: list[Outcome]) -> str:
    header = f"{'line':>4} | {'query':<48} | {'expected':<24} | {'got':<6} | suggestions"
    rows = [o.row() for o in outcomes if not o.correct]
    return "\n".join([header, "-" * len(header), *rows])


needs_content = pytest.mark.skipif(
    not (all(path.exists() for path in EVAL_SETS) and LEXICON.exists() and any(FAQ_DIR.glob("*.toml"))),
    reason="FAQ content or evaluation set not present",
)


@needs_content
@pytest.mark.parametrize("path", EVAL_SETS, ids=lambda path: path.stem)
def test_eval_set_names_existing_entries(path: Path) -> None:
    ids = {entry.id for entry in load_entries(FAQ_DIR)}
    unknown = sorted({c.expected for c in read_cases(path)} - ids - {OFF_TOPIC})
    assert not unknown, f"eval set names entries that do not exist: {unknown}"


@needs_content
def test_eval_sets_do_not_share_queries() -> None:
    """A query in both sets would be counted twice and would hide how the held-out set generalises."""
    first, second = ({fold(c.query) or c.query for c in read_cases(path)} for path in EVAL_SETS)
    assert not first & second, sorted(first & second)


@needs_content
@pytest.mark.parametrize("path", EVAL_SETS, ids=lambda path: path.stem)
def test_faq_search_quality(path: Path) -> None:
    outcomes = evaluate(path)
    figures = summary(outcomes)
    report = (
        f"on-topic {figures['on_topic']:.0f}: top-1 {figures['top1']:.1%} "
        f"(answered {figures['answered_right']:.1%}), in top 3 {figures['in_top3']:.1%}, "
        f"wrong answers {figures['wrong_answer']:.1%}; "
        f"off-topic {figures['off_topic']:.0f}: refused {figures['refusal']:.1%}\n" + failure_table(outcomes)
    )
    print(report)
    assert figures["top1"] >= MIN_TOP1_ACCURACY, report
    assert figures["refusal"] >= MIN_REFUSAL_RATE, report
    assert figures["wrong_answer"] <= MAX_WRONG_ANSWER_RATE, report


@needs_content
@pytest.mark.parametrize("path", [FROZEN, DEV], ids=lambda path: path.stem)
def test_issue18_sets_name_existing_entries(path: Path) -> None:
    ids = {entry.id for entry in load_entries(FAQ_DIR)}
    unknown = sorted({c.expected for c in read_cases(path)} - ids - {OFF_TOPIC})
    assert not unknown, f"{path.name} names entries that do not exist: {unknown}"


@needs_content
def test_frozen_and_dev_sets_share_no_query() -> None:
    """Tuning on a frozen question would make the frozen figure meaningless."""
    frozen, dev = ({fold(c.query) or c.query for c in read_cases(path)} for path in (FROZEN, DEV))
    assert not frozen & dev, sorted(frozen & dev)


@needs_content
def test_frozen_set_meets_the_aims() -> None:
    """Issue 18's aims on text nobody tuned for: top-1 >= 92 %, refusal >= 90 %."""
    outcomes = evaluate(FROZEN)
    figures = summary(outcomes)
    report = (
        f"frozen: top-1 {figures['top1']:.1%}, in top 3 {figures['in_top3']:.1%}, "
        f"refused {figures['refusal']:.1%}\n" + failure_table(outcomes)
    )
    print(report)
    assert figures["top1"] >= FROZEN_MIN_TOP1, report
    assert figures["refusal"] >= FROZEN_MIN_REFUSAL, report
