"""Facet helpers both backends share: histogram buckets of Lima days, and bucket order."""

from __future__ import annotations

from datetime import date, timedelta

from indexer.base import Bucket, Interval

MAX_HISTOGRAM_BUCKETS = 5000  # ~14 years of days: beyond, gaps are not filled


def bucket_start(day: str, interval: Interval) -> str:
    """The first day of the bucket holding a "YYYY-MM-DD" day: itself, its Monday, or the 1st
    of its month."""
    if interval == "day":
        return day
    if interval == "month":
        return day[:7] + "-01"
    parsed = date.fromisoformat(day)
    return (parsed - timedelta(days=parsed.weekday())).isoformat()


def _next(start: date, interval: Interval) -> date:
    if interval == "day":
        return start + timedelta(days=1)
    if interval == "week":
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def fill_histogram(counts: dict[str, int], interval: Interval) -> list[Bucket]:
    """Buckets from the first to the last non-empty one, empty ones included with count 0.
    `counts` maps bucket starts (as `bucket_start` gives them) to document counts."""
    present = {k: v for k, v in counts.items() if v > 0}
    if not present:
        return []
    first, last = date.fromisoformat(min(present)), date.fromisoformat(max(present))
    buckets: list[Bucket] = []
    current = first
    while current <= last and len(buckets) < MAX_HISTOGRAM_BUCKETS:
        key = current.isoformat()
        buckets.append(Bucket(key, present.get(key, 0)))
        current = _next(current, interval)
    if current <= last:  # too many to fill: the non-empty ones only
        return [Bucket(k, present[k]) for k in sorted(present)]
    return buckets


def top(counts: dict[str, int], size: int) -> list[Bucket]:
    """The `size` largest counts, by count then value (the order both backends give)."""
    ordered = sorted(((v, c) for v, c in counts.items() if c > 0), key=lambda p: (-p[1], p[0]))
    return [Bucket(value, count) for value, count in ordered[:size]]


def entity_bucket(value: str, count: int) -> Bucket:
    """An entity facet value is stored as "id<TAB>name": the id is the value, the name the
    label."""
    entity_id, _, name = value.partition("\t")
    return Bucket(entity_id, count, name or None)
