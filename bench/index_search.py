"""Index and search: SQLite FTS5 against Elasticsearch 8 over one generated corpus, same run.

Usage: python -m bench.index_search [--docs N] [--backends sqlite,elasticsearch] [--rounds R]
                                    [--budget SECONDS] [--seed S]
       (default 100,000 documents of `bench/corpus.py`, 5 timed rounds within 480 s)

Index: each backend builds its index with `rebuild` over the same batches of 1,000 documents
(wall time, our analysis included); "analysis only" is `analysis.analyze` over the same titles
and texts, the baseline the backends are compared with. Index size is the SQLite file or the
Elasticsearch primary store.

Search: a fixed set of ~60 queries in five classes (keyword: 1-3 words of rare, medium and
common stems; phrase and proximity; boolean with NOT; field, entity, kind, crime and date
filters; prefix wildcards), each run without and with facets (facet_size 10, month histogram),
sort by relevance, limit 20. One untimed round warms both engines up and checks parity (the
same total, and the same facets, from both backends for every query); then each timed round
runs every query on both backends one after the other, alternating which goes first, so that
the noise of this 2-core machine falls on both alike. p50/p95 are over every timed call of a
class. Goals: SQLite p95 at most 2x Elasticsearch p95 for keyword queries with facets (the
baseline-relative figure), and both p95 below 100 ms.

Elasticsearch: a fresh node from `scripts/es-node start --port 0` (through `tests/es_node.py`)
in a temporary directory (default heap), stopped at the end; or the node at ES_NODE_URL
if set (the bench index is deleted afterwards). The last line printed is the JSON summary.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from bench.corpus import COLLOCATIONS, SEED, Vocabulary, batches
from indexer import analysis, open_index
from indexer.base import IndexBackend, IndexDocument
from pesquisa.settings import load_settings
from tests.es_node import NodeUnavailable, delete_indexes, start_node

BACKENDS = ("sqlite", "elasticsearch")
CLASSES = ("keyword", "phrase", "boolean", "filter", "prefix")
LIMIT, FACET_SIZE = 20, 10
GOAL_RATIO, GOAL_MS = 2.0, 100.0
BENCH_ES_ENV = "ES_NODE_URL"


@dataclass(frozen=True)
class Query:
    kind: str  # one of CLASSES
    text: str


@dataclass
class Run:
    """What one backend did: index figures, then latency samples per (class, facets)."""

    name: str
    index_seconds: float = 0.0
    index_bytes: int | None = None
    samples: dict[tuple[str, bool], list[float]] = field(default_factory=dict)
    per_query: dict[tuple[str, bool], list[float]] = field(default_factory=dict)
    answers: dict[tuple[str, bool], Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


# --- the query set --------------------------------------------------------------------------


def query_set(vocabulary: Vocabulary, seed: int = SEED) -> list[Query]:
    """~60 queries, the same for a seed: words picked by the expected document frequency of
    their stem, entities and sources by their Zipf rank."""
    rng = random.Random(seed + 2)
    best: dict[str, str] = {}  # stem -> its most frequent form
    for word in vocabulary.content_words:
        stem = analysis.stem(word)
        if stem not in best or vocabulary.probability[word] > vocabulary.probability[best[stem]]:
            best[stem] = word
    df = vocabulary.stem_df

    def band(low: float, high: float, k: int) -> list[str]:
        stems = sorted(s for s, share in df.items() if low <= share <= high
                       and len(best[s]) > 3 and not analysis.is_stop_word(best[s]))
        return [best[s] for s in rng.sample(stems, k)]

    rare, medium, common = band(0.0005, 0.004, 8), band(0.02, 0.1, 10), band(0.35, 0.9, 10)
    entities = vocabulary.entities  # in Zipf order: the first are the most mentioned
    officials = [e for e in entities if e.kind == "official"]
    groups = [e for e in entities if e.kind == "crime_group"]
    places = [e for e in entities if e.kind == "place"]
    sources = vocabulary.sources  # in Zipf order too
    crimes = vocabulary.crimes

    keyword = [*rare[:4], *medium[:4], *common[:4],
               f"{rare[4]} {common[4]}", f"{medium[4]} {medium[5]}", f"{common[5]} {common[6]}",
               f"{rare[5]} {medium[6]}", f"{medium[7]} {common[7]}", f"{rare[6]} {common[8]}",
               f"{common[8]} {medium[8]} {rare[7]}", f"{common[9]} {common[0]} {common[1]}",
               f"{medium[9]} {medium[0]} {common[2]}", f"{rare[1]} {common[3]} {medium[1]}",
               f"{medium[2]} {medium[3]} {medium[5]}", f"{common[4]} {medium[3]} {medium[6]}"]
    phrase = [f'"{COLLOCATIONS[i]}"' for i in (0, 3, 10, 20, 34)]
    phrase += [f'"{officials[0].name}"', f'"{groups[3].name}"', f'"{common[2]} {common[3]}"',
               f'"{common[0]} {medium[0]}"~5', f'"{rare[0]} {common[1]}"~10']
    boolean = [f"{common[0]} NOT {common[1]}", f"{medium[0]} NOT {common[2]}",
               f"{rare[0]} NOT {medium[1]}", f"({medium[2]} OR {medium[3]}) NOT {common[3]}",
               f"{common[4]} -{medium[4]}", f"{common[5]} AND ({rare[1]} OR {medium[5]})",
               f"({common[6]} OR {common[7]}) AND NOT {medium[6]}",
               f"{medium[7]} NOT source:{sources[0]}", f"{common[8]} NOT crime:{crimes[0]}",
               f'{medium[8]} AND NOT "{COLLOCATIONS[1]}"']
    filters = [
        f"source:{sources[0]}", f"source:{sources[-1]} AND {common[0]}",
        f'entity:"{officials[0].id}"', f'entity:"{officials[25].name}"',
        f'entity:"{officials[5].aliases[0]}" AND {common[1]}', f'entity:"{places[2].name}"',
        "kind:crime_group", f"kind:organization AND {medium[0]}", f"crime:{crimes[0]}",
        f"crime:{crimes[5]} AND {common[2]}", "published:[2020-01-01 TO 2020-06-30]",
        "published:2023", f"{common[3]} AND published:>=2024-06-01", f"title:{medium[1]}",
        f'title:"{groups[3].name}"',
        f"source:{sources[1]} AND crime:{crimes[1]} AND published:[2019-01-01 TO 2021-12-31]",
    ]
    prefix_words = [w for w in (common[0], medium[0], rare[0]) if len(analysis.fold(w)) >= 6]
    prefix = [f"{analysis.fold(w)[:4]}*" for w in prefix_words] + ["narco*", "extors*"]
    return ([Query("keyword", q) for q in keyword] + [Query("phrase", q) for q in phrase]
            + [Query("boolean", q) for q in boolean] + [Query("filter", q) for q in filters]
            + [Query("prefix", q) for q in prefix])


# --- Elasticsearch node ---------------------------------------------------------------------


@contextmanager
def elasticsearch_url(workdir: Path) -> Iterator[str]:
    """ES_NODE_URL, or a fresh node in `workdir` stopped on the way out."""
    reused = os.environ.get(BENCH_ES_ENV, "").strip()
    if reused:
        yield reused.rstrip("/")
        return
    try:
        node = start_node(workdir / "es-node")
    except NodeUnavailable as exc:
        raise SystemExit(f"no Elasticsearch node for the bench: {exc}") from None
    try:
        yield node.url.rstrip("/")
    finally:
        node.stop()


def es_store_bytes(url: str, alias: str) -> int | None:
    """The primary store of the index behind the alias (None if the node will not say)."""
    client = Elasticsearch(url, request_timeout=60)
    try:
        stats = client.indices.stats(index=alias, metric="store")
        return int(stats["_all"]["primaries"]["store"]["size_in_bytes"])
    except (ApiError, TransportError, KeyError):
        return None
    finally:
        client.close()


def es_cleanup(url: str, alias: str) -> None:
    """Delete the bench indexes on a node we did not start."""
    client = Elasticsearch(url, request_timeout=60)
    try:
        delete_indexes(client, f"{alias}-")
    except (ApiError, TransportError) as exc:
        print(f"could not delete the bench indexes {alias}-*: {exc}", file=sys.stderr)
    finally:
        client.close()


def sqlite_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


# --- measuring ------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def index(backend: IndexBackend, corpus: list[list[IndexDocument]]) -> float:
    start = time.perf_counter()
    indexed = backend.rebuild(iter(corpus))
    seconds = time.perf_counter() - start
    expected = sum(len(batch) for batch in corpus)
    if indexed != expected or backend.count() != expected:
        raise SystemExit(f"{backend.name}: indexed {indexed}, count {backend.count()}, "
                         f"expected {expected}")
    return seconds


def search(backend: IndexBackend, query: str, facets: bool) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    result = backend.search(query, limit=LIMIT, sort="relevance", facets=facets,
                            interval="month", facet_size=FACET_SIZE).to_json()
    return (time.perf_counter() - start) * 1000, result


def measure(backends: dict[str, IndexBackend], runs: dict[str, Run], queries: list[Query],
            rounds: int, seed: int, budget: float) -> int:
    """Run the warm-up round, then as many timed rounds (up to `rounds`, at least 2) as fit in
    `budget` seconds at the pace of the warm-up; return how many were timed."""
    rng = random.Random(seed + 3)
    names = list(backends)
    round_number = 0
    while round_number <= rounds:  # round 0: warm-up and parity, not timed
        started = time.perf_counter()
        order = list(queries)
        rng.shuffle(order)
        for position, query in enumerate(order):
            for facets in (False, True):
                turn = names if (round_number + position) % 2 == 0 else names[::-1]
                for name in turn:
                    run = runs[name]
                    if query.text in run.errors:
                        continue
                    try:
                        ms, result = search(backends[name], query.text, facets)
                    except Exception as exc:  # reported below; one broken query is a finding
                        run.errors[query.text] = f"{type(exc).__name__}: {exc}"
                        continue
                    if round_number == 0:
                        run.answers[(query.text, facets)] = result
                        continue
                    run.samples.setdefault((query.kind, facets), []).append(ms)
                    run.per_query.setdefault((query.text, facets), []).append(ms)
        took = time.perf_counter() - started
        print(f"  round {round_number}/{rounds}: {took:.0f} s", file=sys.stderr)
        if round_number == 0:
            fit = min(rounds, max(2, int(budget // max(took, 0.001))))
            if fit < rounds:
                print(f"  a round takes {took:.0f} s: {fit} timed rounds fit in "
                      f"--budget {budget:.0f} s, not {rounds}", file=sys.stderr)
                rounds = fit
        round_number += 1
    return rounds


def parity(runs: list[Run], queries: list[Query]) -> tuple[list[str], list[str]]:
    """Queries whose totals differ (between the backends, or with and without facets), and
    queries whose facets differ; one line each."""
    totals: list[str] = []
    facets: list[str] = []
    if len(runs) < 2:
        return totals, facets
    first, second = runs[0], runs[1]
    for query in queries:
        answers = [[run.answers.get((query.text, f)) for f in (False, True)] for run in runs]
        found = [[a["total"] for a in pair if a is not None] for pair in answers]
        if any(found) and len({t for pair in found for t in pair}) > 1:
            shown = ", ".join(f"{run.name} {'/'.join(map(str, dict.fromkeys(pair)))}"
                              for run, pair in zip(runs, found, strict=True))
            totals.append(f"{query.text!r}: total {shown}")
        a, b = answers[0][1], answers[1][1]
        if a is not None and b is not None and a.get("facets") != b.get("facets"):
            facets.append(f"{query.text!r}: {first.name} and {second.name} facets "
                          f"{_facet_difference(a['facets'], b['facets'])}")
    return totals, facets


def _facet_difference(a: dict[str, Any], b: dict[str, Any]) -> str:
    parts = []
    for key in ("source", "crime", "entities", "published"):
        if a.get(key) != b.get(key):
            parts.append(key)
    return "differ in " + ", ".join(parts)


# --- report ---------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "     -" if value is None else f"{value:6.1f}"


def _stats(run: Run, kind: str | None, facets: bool) -> tuple[float, float] | None:
    values = [v for (k, f), samples in run.samples.items()
              if f == facets and (kind is None or k == kind) for v in samples]
    if not values:
        return None
    return percentile(values, 50), percentile(values, 95)


def report(args: argparse.Namespace, corpus: list[list[IndexDocument]], words: int,
           generate_s: float, analysis_s: float, runs: list[Run], queries: list[Query],
           wall_start: float) -> int:
    n = sum(len(batch) for batch in corpus)
    docs = [d for batch in corpus for d in batch]
    clusters = Counter(d.cluster or d.id for d in docs)
    clustered = sum(size for size in clusters.values() if size > 1)
    print(f"documents: {n}, words: {words} (~{words // n} each), undated: "
          f"{sum(1 for d in docs if d.published is None)}, "
          f"in near-duplicate clusters: {clustered}, "
          f"sources: {len({d.source for d in docs})}, "
          f"entities: {len({e.id for d in docs for e in d.entities})}  "
          f"(generated in {generate_s:.1f} s)")
    print(f"\nindex (rebuild over batches of {len(corpus[0])})")
    print(f"  {'analysis only':14} {n / analysis_s:8.0f} docs/s")
    for run in runs:
        size = "" if run.index_bytes is None else f"   size {run.index_bytes / 2**20:7.1f} MiB"
        print(f"  {run.name:14} {n / run.index_seconds:8.0f} docs/s   "
              f"{run.index_seconds:6.1f} s   x{run.index_seconds / analysis_s:4.1f} of analysis"
              f"{size}")

    rounds = args.rounds
    print(f"\nquery latency, ms: {len(queries)} queries x {rounds} rounds, each without and with "
          f"facets; limit {LIMIT}, sort relevance")
    header = "  class     facets " + "".join(f"  {r.name[:13]:>13} p50   p95" for r in runs)
    if len(runs) == 2:
        header += f"   p95 {runs[0].name}/{runs[1].name}"
    print(header)
    latency: dict[str, Any] = {r.name: {} for r in runs}
    for kind in (*CLASSES, None):
        for facets in (False, True):
            label = kind or "all"
            row = f"  {label:9} {'yes' if facets else 'no':6} "
            figures = []
            for run in runs:
                stats = _stats(run, kind, facets)
                figures.append(stats)
                p50, p95 = stats if stats else (None, None)
                row += f"  {'':13}{_ms(p50)}{_ms(p95)}"
                if stats:
                    latency[run.name].setdefault(label, {})["facets" if facets else "plain"] = {
                        "p50": round(stats[0], 2), "p95": round(stats[1], 2)}
            if len(runs) == 2 and figures[0] and figures[1]:
                row += f"   {figures[0][1] / figures[1][1]:5.2f}"
            print(row)

    goals: dict[str, dict[str, Any]] = {}
    by_name = {r.name: r for r in runs}
    keyword = {name: _stats(run, "keyword", True) for name, run in by_name.items()}
    sqlite_kw, es_kw = keyword.get("sqlite"), keyword.get("elasticsearch")
    if sqlite_kw and es_kw:
        ratio = sqlite_kw[1] / es_kw[1]
        goals["sqlite_p95_le_2x_es_keyword_facets"] = {
            "value": round(ratio, 2), "pass": ratio <= GOAL_RATIO}
    for name, stats in keyword.items():
        if stats:
            goals[f"{name}_p95_lt_100ms_keyword_facets"] = {
                "value": round(stats[1], 2), "pass": stats[1] < GOAL_MS}
    print("\ngoals (keyword queries with facets)")
    for goal, outcome in goals.items():
        unit = "x" if "2x" in goal else " ms"
        print(f"  {'PASS' if outcome['pass'] else 'FAIL'}  {goal}: {outcome['value']}{unit}")

    print("\nslowest queries (p95 ms over the timed rounds)")
    for run in runs:
        worst = sorted(((percentile(v, 95), q, f) for (q, f), v in run.per_query.items()),
                       reverse=True)[:5]
        for p95, text, facets in worst:
            total = run.answers.get((text, facets), {}).get("total")
            print(f"  {run.name:13} {p95:7.1f}  {'facets' if facets else 'plain ':6} "
                  f"total {total!s:>7}  {text}")

    total_mismatches, facet_mismatches = parity(runs, queries)
    errors = {r.name: r.errors for r in runs if r.errors}
    if len(runs) == 2:
        print(f"\nparity over {len(queries)} queries: {len(total_mismatches)} total mismatches, "
              f"{len(facet_mismatches)} facet mismatches")
        for line in total_mismatches + facet_mismatches:
            print(f"  MISMATCH {line}")
    for name, failed in errors.items():
        for text, error in failed.items():
            print(f"  ERROR {name}: {text!r}: {error}")
    print("\nper query: total (warm-up round), then p50 ms without / with facets, per backend")
    print("  class    " + "".join(f" {r.name[:13]:>13} total  p50 p50+f" for r in runs))
    for query in queries:
        row = f"  {query.kind:8}"
        for run in runs:
            total = run.answers.get((query.text, False), {}).get("total")
            plain, faceted = (run.per_query.get((query.text, f)) for f in (False, True))
            row += (f" {total!s:>19} {_ms(percentile(plain, 50) if plain else None)}"
                    f"{_ms(percentile(faceted, 50) if faceted else None)}")
        print(f"{row}  {query.text}")

    wall = time.perf_counter() - wall_start
    print(f"\nwall time of the whole bench: {wall:.0f} s")
    summary = {
        "bench": "index_search", "docs": n, "words": words, "queries": len(queries),
        "rounds": rounds, "index_docs_per_s": {"analysis": round(n / analysis_s, 1)} | {
            r.name: round(n / r.index_seconds, 1) for r in runs},
        "index_bytes": {r.name: r.index_bytes for r in runs},
        "latency_ms": latency, "goals": goals,
        "parity": {"total_mismatches": len(total_mismatches),
                   "facet_mismatches": len(facet_mismatches)} if len(runs) == 2 else None,
        "errors": sum(len(e) for e in errors.values()), "wall_s": round(wall, 1),
    }
    print(json.dumps(summary, sort_keys=True))
    return 1 if errors else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.index_search", description=__doc__
                                     and __doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--budget", type=float, default=480.0,
                        help="seconds for the timed rounds: fewer rounds (at least 2) if slow")
    args = parser.parse_args(argv)
    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(names) - set(BACKENDS)
    if unknown or not names or args.docs < 1000 or args.rounds < 1:
        parser.error(f"--backends from {','.join(BACKENDS)}; --docs >= 1000; --rounds >= 1")
    wall_start = time.perf_counter()

    vocabulary = Vocabulary(args.seed)
    start = time.perf_counter()
    corpus = list(batches(args.docs, seed=args.seed, vocabulary=vocabulary))
    generate_s = time.perf_counter() - start
    words = sum(len(d.title.split()) + len(d.text.split()) for batch in corpus for d in batch)
    start = time.perf_counter()
    for batch in corpus:
        for doc in batch:
            analysis.analyze(doc.title)
            analysis.analyze(doc.text)
    analysis_s = time.perf_counter() - start
    queries = query_set(vocabulary, args.seed)

    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        workdir = Path(tmp)
        with _es_if(names, workdir) as url:
            alias = f"pesquisa-bench-{os.getpid()}"
            settings = load_settings(overrides={
                "data_dir": workdir, "index_url": url or "http://localhost:9200",
                "elasticsearch": {"index": alias}}, environ={})
            backends: dict[str, IndexBackend] = {}
            runs: dict[str, Run] = {}
            try:
                for name in names:
                    backend = open_index(settings, create=True, backend=name)
                    backends[name] = backend
                    run = runs[name] = Run(name)
                    print(f"indexing {args.docs} documents into {name}...", file=sys.stderr)
                    run.index_seconds = index(backend, corpus)
                    run.index_bytes = (sqlite_bytes(settings.index_path) if name == "sqlite"
                                       else es_store_bytes(url, alias) if url else None)
                print(f"searching: {len(queries)} queries x 2 x {args.rounds + 1} rounds...",
                      file=sys.stderr)
                args.rounds = measure(backends, runs, queries, args.rounds, args.seed,
                                      args.budget)
            finally:
                for backend in backends.values():
                    backend.close()
                if url and os.environ.get(BENCH_ES_ENV, "").strip():
                    es_cleanup(url, alias)
    return report(args, corpus, words, generate_s, analysis_s, list(runs.values()), queries,
                  wall_start)


@contextmanager
def _es_if(names: list[str], workdir: Path) -> Iterator[str | None]:
    if "elasticsearch" not in names:
        yield None
        return
    with elasticsearch_url(workdir) as url:
        yield url


if __name__ == "__main__":
    sys.exit(main())
