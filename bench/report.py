"""`make bench`'s report: the issue's targets, the course-size sweep, and the saved JSON.

Each measured URL has a key (`course_learner_200`, `sync`, ...). A ratio target compares
that URL's requests/s with `/healthz`'s in the same run; the sweep compares a page's cost
(1 / requests/s, and the in-process time) at the largest course size with the smallest.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """`key`'s requests/s at least `minimum` times /healthz's (kind "ratio"); or, for the
    sync batch, events/s and queries (kind "sync"); or a sweep bound (kind "sweep")."""

    label: str
    key: str
    minimum: float
    kind: str = "ratio"


RATIO_TARGETS = (
    Target("home, anonymous", "home", 0.60),
    Target("catalog, anonymous", "catalog", 0.60),
    Target("course page (200), anonymous", "course_anon_200", 0.60),
    Target("lesson page (200), anonymous", "lesson_anon_200", 0.60),
    Target("course page (200), signed-in learner", "course_learner_200", 0.25),
    Target("lesson page (200), signed-in learner", "lesson_learner_200", 0.25),
    Target("/learn/, signed-in learner", "learn", 0.30),
    Target("course API (200), signed-in learner", "course_api", 0.35),
    Target("dashboard API, signed-in learner", "dashboard_api", 0.30),
    Target("completion POST", "complete", 0.25),
    Target("webhook ack, new Stripe event", "stripe", 0.50),
    Target("webhook ack, new Mux event", "mux", 0.50),
)
SYNC_EVENTS_PER_SECOND = 25_000
SYNC_MAX_QUERIES = 10
# (page, largest/smallest cost at most)
SWEEP_BOUNDS = (("lesson_learner", 1.5), ("course_learner", 3.0))


def _rps(results: dict, key: str) -> float | None:
    entry = results.get(key)
    return entry["rps"] if entry and entry.get("rps") else None


def targets_evaluate(results: dict, *, sync_batch: int, sweep_sizes: list[int]) -> list[dict]:
    """Every target with what this run measured and whether it is met (None: not measured)."""
    healthz = _rps(results, "healthz")
    rows = []
    for target in RATIO_TARGETS:
        rps = _rps(results, target.key)
        value = rps / healthz if rps and healthz else None
        rows.append(_row(target.label, value, f">= {target.minimum:.2f}", value, target.minimum))
    sync = results.get("sync") or {}
    events = sync["rps"] * sync_batch if sync.get("rps") else None
    rows.append(
        _row(
            f"sync, {sync_batch}-event batch: events/s",
            events,
            f">= {SYNC_EVENTS_PER_SECOND:,}",
            events,
            SYNC_EVENTS_PER_SECOND,
            shown=f"{events:,.0f}" if events else None,
        )
    )
    queries = (sync.get("inprocess") or {}).get("queries")
    rows.append(
        {
            "target": f"sync, {sync_batch}-event batch: queries",
            "value": queries,
            "shown": str(queries) if queries is not None else "-",
            "goal": f"<= {SYNC_MAX_QUERIES}",
            "met": None if queries is None else queries <= SYNC_MAX_QUERIES,
        }
    )
    if len(sweep_sizes) >= 2:
        small, large = min(sweep_sizes), max(sweep_sizes)
        for page, bound in SWEEP_BOUNDS:
            low = _rps(results, f"sweep_{page}_{small}")
            high = _rps(results, f"sweep_{page}_{large}")
            cost = low / high if low and high else None
            name = page.replace("_learner", " page").replace("_", " ")
            rows.append(
                {
                    "target": f"{name}, signed in: cost at {large:,} / at {small} lessons",
                    "value": cost,
                    "shown": f"{cost:.2f}x" if cost else "-",
                    "goal": f"<= {bound:.1f}x",
                    "met": None if cost is None else cost <= bound,
                }
            )
    return rows


def _row(label, value, goal, measured, minimum, *, shown=None) -> dict:
    return {
        "target": label,
        "value": round(value, 4) if value is not None else None,
        "shown": shown or (f"{value:.2f}" if value is not None else "-"),
        "goal": goal,
        "met": None if measured is None else measured >= minimum,
    }


def targets_table(rows: list[dict]) -> str:
    header = f"{'target (ratio: req/s over /healthz)':<58} {'measured':>10} {'goal':>10}  met"
    lines = [header, "-" * len(header)]
    for row in rows:
        met = {True: "yes", False: "NO", None: "-"}[row["met"]]
        lines.append(f"{row['target']:<58} {row['shown']:>10} {row['goal']:>10}  {met}")
    met = sum(1 for row in rows if row["met"])
    lines.append(f"{met} of {len(rows)} targets met in this run.")
    return "\n".join(lines)


def sweep_rows(results: dict, *, sizes: list[int]) -> list[dict]:
    """Per page and visitor: req/s over /healthz and in-process ms at each course size."""
    healthz = _rps(results, "healthz")
    rows = []
    for page in ("course_anon", "lesson_anon", "course_learner", "lesson_learner"):
        row: dict = {"page": page}
        for size in sizes:
            entry = results.get(f"sweep_{page}_{size}") or {}
            rps = entry.get("rps")
            row[str(size)] = {
                "ratio": round(rps / healthz, 4) if rps and healthz else None,
                "ms": (entry.get("inprocess") or {}).get("ms_p50"),
                "queries": (entry.get("inprocess") or {}).get("queries"),
            }
        rows.append(row)
    return rows


def sweep_table(rows: list[dict], *, sizes: list[int]) -> str:
    cells = "".join(f" {f'{size:,} lessons':>24}" for size in sizes)
    header = f"{'page':<16}{cells}"
    lines = [header, f"{'':<16}" + "".join(f" {'/hz   ms  queries':>24}" for _ in sizes)]
    lines.append("-" * len(header))
    for row in rows:
        line = f"{row['page']:<16}"
        for size in sizes:
            cell = row[str(size)]
            ratio = f"{cell['ratio']:.2f}" if cell["ratio"] is not None else "-"
            ms = f"{cell['ms']:.1f}" if cell["ms"] is not None else "-"
            queries = str(cell["queries"]) if cell["queries"] is not None else "-"
            line += f" {ratio:>8} {ms:>7} {queries:>7}"
        lines.append(line)
    return "\n".join(lines)
