"""Latency benchmark of the FAQ search (bot/services/faq.py) against a difflib baseline.

Run from the repository root:

    .venv/bin/python bench/faq_bench.py [--repeats 7] [--size 5000] [--difflib-sample 10]

For the real content (data/faq + data/lexicon.toml) and for a synthetic
expansion to ``--size`` entries (perturbed copies of the real entries under new
ids: a word dropped, two swapped, one mistyped or one added per question),
every query of tests/data/faq_eval.tsv and of the held-out
tests/data/faq_eval_heldout.tsv (which holds most of the long, rambling
messages, the slowest to search) is timed one by one, ``--repeats`` times. Each query's median over the repeats is taken first (so that a burst of
load from another process on a shared machine stays out of the tail), then
p50 and p99 over the queries. Both wall-clock time and the thread's CPU time
are reported; the CPU time is what one query costs one core.

The baseline, ``difflib.get_close_matches`` over the same folded titles and
questions, runs in the same process on the same queries (on a sample of them
at the large size, where it takes seconds a query). The process is pinned to
one core when the OS allows it. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import difflib
import gc
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.services.faq import FaqEntry, FaqIndex, load_entries, load_lexicon  # noqa: E402
from bot.text import fold  # noqa: E402

FAQ_DIR = ROOT / "data" / "faq"
LEXICON = ROOT / "data" / "lexicon.toml"
EVAL = ROOT / "tests" / "data" / "faq_eval.tsv"
HELDOUT = ROOT / "tests" / "data" / "faq_eval_heldout.tsv"


@dataclasses.dataclass(frozen=True)
class Timing:
    """Percentiles over the queries of each query's median time, in milliseconds."""

    wall_p50: float
    wall_p99: float
    cpu_p50: float
    cpu_p99: float


def read_eval(path: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) == 2 and row[0].strip() and not row[0].startswith("#") and row[0] != "query":
                rows.append((row[0].strip(), row[1].strip()))
    return rows


def perturb(text: str, words: Sequence[str], rng: random.Random) -> str:
    """A plausible variant of ``text``: a word dropped, two swapped, one mistyped or one added."""
    tokens = text.split()
    action = rng.randrange(4)
    if action == 0 and len(tokens) > 2:
        del tokens[rng.randrange(len(tokens))]
    elif action == 1 and len(tokens) > 1:
        i = rng.randrange(len(tokens) - 1)
        tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
    elif action == 2 and tokens:
        i = rng.randrange(len(tokens))
        word = tokens[i]
        if len(word) > 2:
            j = rng.randrange(len(word))
            tokens[i] = word[:j] + rng.choice("aeioudghnt") + word[j + 1 :]
    else:
        tokens.insert(rng.randrange(len(tokens) + 1), rng.choice(words))
    return " ".join(tokens)


def expand(entries: Sequence[FaqEntry], size: int, seed: int = 7) -> list[FaqEntry]:
    """``entries`` plus perturbed copies under new ids, ``size`` entries in all."""
    rng = random.Random(seed)
    words = sorted({w for e in entries for q in e.questions for w in fold(q).split()})
    out = list(entries)
    while len(out) < size:
        base = entries[len(out) % len(entries)]
        copy_number = len(out) // len(entries)
        out.append(
            dataclasses.replace(
                base,
                id=f"{base.id}-copy-{copy_number}",
                title=perturb(base.title, words, rng),
                questions=tuple(perturb(q, words, rng) for q in base.questions),
            )
        )
    return out


class DifflibBaseline:
    """The stdlib answer: closest folded title or question by SequenceMatcher ratio."""

    def __init__(self, entries: Sequence[FaqEntry]) -> None:
        self.owner: dict[str, str] = {}
        for entry in entries:
            for text in (entry.title, *entry.questions):
                self.owner.setdefault(fold(text), entry.id)
        self.choices = list(self.owner)

    def search(self, text: str) -> str | None:
        found = difflib.get_close_matches(fold(text), self.choices, n=3, cutoff=0.6)
        return self.owner[found[0]] if found else None


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def time_queries(search: Callable[[str], object], queries: Sequence[str], repeats: int) -> Timing:
    wall_runs: list[list[float]] = []
    cpu_runs: list[list[float]] = []
    for _ in range(repeats):
        gc.collect()
        wall: list[float] = []
        cpu: list[float] = []
        for query in queries:
            start_wall, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
            search(query)
            cpu.append((time.thread_time_ns() - start_cpu) / 1e6)
            wall.append((time.perf_counter_ns() - start_wall) / 1e6)
        wall_runs.append(wall)
        cpu_runs.append(cpu)
    wall_medians = [statistics.median(column) for column in zip(*wall_runs, strict=True)]
    cpu_medians = [statistics.median(column) for column in zip(*cpu_runs, strict=True)]
    return Timing(
        wall_p50=percentile(wall_medians, 0.50),
        wall_p99=percentile(wall_medians, 0.99),
        cpu_p50=percentile(cpu_medians, 0.50),
        cpu_p99=percentile(cpu_medians, 0.99),
    )


def accuracy(found: Callable[[str], str | None], cases: Sequence[tuple[str, str]]) -> str:
    """Top-1 on on-topic queries (same rule as tests/test_faq_eval.py) / refusal of off-topic ones.

    On the expanded index a copy of the expected entry counts as the entry.
    """
    on_topic: list[bool] = []
    off_topic: list[bool] = []
    for query, expected in cases:
        got = found(query) or "-"
        if expected == "-":
            off_topic.append(got == "-")
        else:
            on_topic.append(got == expected or got.startswith(f"{expected}-copy-"))
    return f"{sum(on_topic) / len(on_topic):.1%} / {sum(off_topic) / max(1, len(off_topic)):.1%}"


def faq_top1(index: FaqIndex) -> Callable[[str], str | None]:
    def found(query: str) -> str | None:
        result = index.search(query)
        return result.suggestions[0].id if result.suggestions else None

    return found


def upsert_cost(index: FaqIndex, data: Sequence[FaqEntry], queries: Sequence[str], repeats: int) -> str:
    """Median wall / CPU ms of the learning loop: one upsert (a new question), then the first search."""
    wall: list[float] = []
    cpu: list[float] = []
    for number in range(repeats):
        base = data[number % len(data)]
        learned = dataclasses.replace(base, questions=(*base.questions, f"{queries[number]} hỏi thêm"))
        start_wall, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
        index.upsert(learned)
        index.search(queries[number])
        cpu.append((time.thread_time_ns() - start_cpu) / 1e6)
        wall.append((time.perf_counter_ns() - start_wall) / 1e6)
    return f"{statistics.median(wall):.2f} / {statistics.median(cpu):.2f} ms"


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--difflib-sample", type=int, default=10, help="queries timed for difflib at --size")
    args = parser.parse_args()

    pinning = pin_to_one_core()
    entries = load_entries(FAQ_DIR)
    lexicon = load_lexicon(LEXICON)
    cases = read_eval(EVAL) + read_eval(HELDOUT)
    queries = [q for q, _ in cases]
    print(
        f"{date.today()} · Python {platform.python_version()} · {platform.machine()} · "
        f"{os.cpu_count()} CPUs, {pinning} · {len(queries)} eval queries · {args.repeats} repeats\n"
    )
    print(
        "| entries | engine | queries timed | build (ms) | wall p50 / p99 (ms) | CPU p50 / p99 (ms) "
        "| difflib ÷ FaqIndex, CPU p50 / p99 | top-1 / refusal on both eval sets |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    upserts: list[str] = []
    for size in (len(entries), args.size):
        data = entries if size == len(entries) else expand(entries, size)
        start = time.perf_counter()
        index = FaqIndex(data, lexicon)
        build_ms = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        baseline = DifflibBaseline(data)
        baseline_build_ms = (time.perf_counter() - start) * 1000
        for query in queries:  # warm the lazy caches (IDF, question weights), as in a running bot
            index.search(query)
        faq = time_queries(index.search, queries, args.repeats)
        sample = queries if size == len(entries) else random.Random(1).sample(queries, args.difflib_sample)
        base = time_queries(baseline.search, sample, args.repeats)
        faq_acc = accuracy(faq_top1(index), cases)
        base_acc = accuracy(baseline.search, cases) if size == len(entries) else "-"
        print(
            f"| {len(data)} | tiepdan FaqIndex | {len(queries)} | {build_ms:.0f} "
            f"| {faq.wall_p50:.3f} / {faq.wall_p99:.3f} | {faq.cpu_p50:.3f} / {faq.cpu_p99:.3f} "
            f"| {base.cpu_p50 / faq.cpu_p50:.0f}× / {base.cpu_p99 / faq.cpu_p99:.0f}× | {faq_acc} |"
        )
        print(
            f"| {len(data)} | difflib.get_close_matches | {len(sample)} | {baseline_build_ms:.0f} "
            f"| {base.wall_p50:.1f} / {base.wall_p99:.1f} | {base.cpu_p50:.1f} / {base.cpu_p99:.1f} | 1× | {base_acc} |"
        )
        upserts.append(f"{len(data)} entries {upsert_cost(index, data, queries, args.repeats)}")
    print(
        f"\nLearning loop, one upsert + the first search after it, wall / CPU (median of {args.repeats}): "
        + "; ".join(upserts)
    )


if __name__ == "__main__":
    main()
