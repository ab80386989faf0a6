"""Facet helpers both backends share: histogram buckets of Lima days, entity kinds with a
facet, entity bucket labels."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta

from indexer.base import Bucket, Interval

MAX_HISTOGRAM_BUCKETS = 5000  # ~14 years of days: beyond, gaps are not filled
# Entity kinds counted in `Facets.entities`: Elasticsearch names a field for each (so no dots,
# no capitals), and SQLite counts the same ones. A document's entity of another kind is
# still found with `entity:`.
FACET_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")


def facet_kinds(kinds: Iterable[str]) -> list[str]:
    """The entity kinds among `kinds` that have a facet, sorted."""
    return sorted({kind for kind in kinds if FACET_KIND.fullmatch(kind)})


def bucket_start(day: str, interval: Interval) -> str:
    """The first day of the bucket holding a "YYYY-MM-DD" day: itself, its Monday, or the 1st
    of its month."""
    if interval == "day":
        return day
    if interval == "month":
        return day[:7] + "-01"
    parsed = date.fromisoformat(day)
    return (parsed - timedelta(days=parsed.weekday())).isoformat()


def _next(start: date, interval: Interval) -> date | None:
    """The start of the next bucket; None past the last day a date can hold (9999-12-31)."""
    try:
        if interval == "day":
            return start + timedelta(days=1)
        if interval == "week":
            return start + timedelta(days=7)
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    except (OverflowError, ValueError):
        return None


def fill_histogram(counts: dict[str, int], interval: Interval) -> list[Bucket]:
    """Buckets from the first to the last non-empty one, empty ones included with count 0.
    `counts` maps bucket starts (as `bucket_start` gives them) to document counts."""
    present = {k: v for k, v in counts.items() if v > 0}
    if not present:
        return []
    first, last = date.fromisoformat(min(present)), date.fromisoformat(max(present))
    buckets: list[Bucket] = []
    current: date | None = first
    while current is not None and current <= last:
        if len(buckets) == MAX_HISTOGRAM_BUCKETS:  # too many to fill: the non-empty ones only
            return [Bucket(k, present[k]) for k in sorted(present)]
        key = current.isoformat()
        buckets.append(Bucket(key, present.get(key, 0)))
        current = _next(current, interval)
    return buckets


def entity_bucket(value: str, count: int) -> Bucket:
    """An entity facet value is stored as "id<TAB>name": the id is the value, the name the
    label."""
    entity_id, _, name = value.partition("\t")
    return Bucket(entity_id, count, name or None)
