"""Quality and latency of the FAQ search and the router on the issue-18 sets.

Run from the repository root:

    .venv/bin/python bench/quality18.py [--sets frozen|dev|all] [--latency]

FAQ sets (tests/data/faq_*.tsv) are scored as tests/test_faq_eval.py scores them;
routing sets (tests/data/routing_*.tsv: text, profile, expected) as
tests/test_routing_eval.py does. ``--latency`` also times the router over the
province's map (each text's median of 7 runs, then p50/p99). Prints Markdown,
and the misses, so that a run can be pasted into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_faq_eval import evaluate, summary  # noqa: E402
from tests.test_routing_eval import PROVINCE, RoutingCase, read_routing, routed_right, router  # noqa: E402

FAQ_SETS = {
    "frozen": ROOT / "tests" / "data" / "faq_frozen.tsv",
    "dev": ROOT / "tests" / "data" / "faq_dev18.tsv",
    "eval": ROOT / "tests" / "data" / "faq_eval.tsv",
    "heldout": ROOT / "tests" / "data" / "faq_eval_heldout.tsv",
}
ROUTING_SETS = {
    "frozen": ROOT / "tests" / "data" / "routing_frozen.tsv",
    "dev": ROOT / "tests" / "data" / "routing_dev18.tsv",
}


def faq_report(name: str, path: Path, show_misses: bool) -> None:
    outcomes = evaluate(path)
    f = summary(outcomes)
    print(
        f"| {name} | {f['on_topic']:.0f} | {f['top1']:.1%} | {f['in_top3']:.1%} | {f['wrong_answer']:.1%} "
        f"| {f['off_topic']:.0f} | {f['refusal']:.1%} |"
    )
    if show_misses:
        pairs = Counter(
            (o.case.expected, o.first if o.result.outcome != "none" else "none") for o in outcomes if not o.correct
        )
        for (expected, got), count in pairs.most_common():
            print(f"    miss {expected} -> {got} ×{count}")
        for o in outcomes:
            if not o.correct:
                print("    " + o.row())


def routing_report(name: str, path: Path, show_misses: bool) -> None:
    cases = read_routing(path)
    by_profile: dict[str, list[tuple[RoutingCase, bool]]] = {}
    for case in cases:
        by_profile.setdefault(case.profile, []).append((case, routed_right(case)))
    for profile, rows in by_profile.items():
        right = sum(ok for _, ok in rows)
        print(f"| {name} | {profile} | {len(rows)} | {right / len(rows):.1%} |")
        if show_misses:
            for case, ok in rows:
                if not ok:
                    got = router(case.profile).route(case.text)
                    shown = got.unit.code if got.unit else f"none {[c.code for c in got.candidates]} {got.reason}"
                    print(f"    miss {case.text!r} expected {case.expected} got {shown}")


def routing_latency(path: Path) -> None:
    service = router(PROVINCE)
    texts = [case.text for case in read_routing(path)]
    medians = []
    for text in texts:
        runs = []
        for _ in range(7):
            start = time.perf_counter()
            service.route(text)
            runs.append(time.perf_counter() - start)
        medians.append(statistics.median(runs) * 1000)
    medians.sort()
    p99 = medians[min(len(medians) - 1, round(0.99 * (len(medians) - 1)))]
    print(f"routing over {PROVINCE} ({len(texts)} texts): p50 {statistics.median(medians):.3f} ms, p99 {p99:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="all", choices=("frozen", "dev", "all"))
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--latency", action="store_true")
    args = parser.parse_args()
    wanted = ("frozen", "dev", "eval", "heldout") if args.sets == "all" else (args.sets,)
    print("| FAQ set | on-topic | top-1 | in top 3 | wrong answers | off-topic | refused |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in wanted:
        if name in FAQ_SETS and FAQ_SETS[name].exists():
            faq_report(name, FAQ_SETS[name], args.misses)
    print("\n| routing set | map | texts | right |")
    print("|---|---|---:|---:|")
    for name in wanted:
        if name in ROUTING_SETS and ROUTING_SETS[name].exists():
            routing_report(name, ROUTING_SETS[name], args.misses)
    if args.latency:
        routing_latency(ROUTING_SETS["frozen"])


if __name__ == "__main__":
    main()
