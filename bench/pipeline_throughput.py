"""Processing throughput: store + NLP + index, as a ratio to bare spaCy on the same texts.

Usage: python -m bench.pipeline_throughput [N]   (default 600 documents)

Machines here are noisy, so the figure that matters is the ratio: how much slower the whole
worker (read the queue, annotate, write mentions, index, mark) is than `nlp.pipe` alone over
the same texts in the same run. Absolute documents/s are printed for context only.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from nlp.pipeline import load_pipeline
from pesquisa.demo.site import load_articles
from pesquisa.ids import canonical_url, document_id
from pesquisa.settings import load_settings
from pesquisa.store import NewDocument, Store
from pesquisa.worker import Worker


def corpus(n: int) -> list[str]:
    paragraphs = [p for a in load_articles() if a["language"] == "es" for p in a["paragraphs"]]
    return ["\n".join(paragraphs[(i * 5 + k * 11) % len(paragraphs)] for k in range(5))
            for i in range(n)]


def main(n: int) -> None:
    texts = corpus(n)
    nlp = load_pipeline()
    list(nlp.pipe(texts[:20]))  # warm up

    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=16):
        pass
    bare = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(overrides={"data_dir": Path(tmp)}, environ={})
        with Store(settings.store_path) as store:
            for i, text in enumerate(texts):
                url = f"https://ejemplo.pe/nota/{i}"
                store.save_document(NewDocument(
                    url=url, canonical_url=canonical_url(url), id=document_id(url),
                    source="bench", title=f"Nota {i}", text=text, published=None))
        worker = Worker(settings, nlp=nlp)  # same pipeline: measure work, not the model load
        start = time.perf_counter()
        done = worker.run_once()
        full = time.perf_counter() - start
        worker.close()
    assert done.indexed == n, done
    print(f"documents: {n}, words each: ~{sum(len(t.split()) for t in texts) // n}")
    print(f"bare spaCy:     {n / bare:8.1f} docs/s")
    print(f"whole worker:   {n / full:8.1f} docs/s")
    print(f"ratio worker/bare time: {full / bare:.2f}  (store + index overhead on top of NLP)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 600)
