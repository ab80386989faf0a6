"""Our rule components on spacy.blank("es") with the fixture KB (tests/data/kb/), and a runner
that puts hand-marked 'model' spans in first: the NLP tests' shared harness."""

from __future__ import annotations

from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc

import nlp.factories  # noqa: F401  (registers our components)
from nlp.evaluate import parse_gold_line

KB = Path(__file__).parent / "data" / "kb"


def rules_pipeline() -> Language:
    """Our rule components after an empty 'model': tests put the model's spans in by hand."""
    pipe = spacy.blank("es")
    pipe.add_pipe("sentencizer")
    for name in ("pesquisa_gazetteer", "pesquisa_roles", "pesquisa_crime_groups",
                 "pesquisa_normalize"):
        config = {"kb": str(KB)} if name in {"pesquisa_gazetteer", "pesquisa_normalize"} else {}
        pipe.add_pipe(name, config=config)
    return pipe


def run(pipe: Language, marked: str) -> Doc:
    """Annotate the text of `marked`, whose `[words](LABEL)` marks are the spans the statistical
    NER 'found' (the gold-file syntax of tests/data/ner_gold.txt)."""
    gold = parse_gold_line(marked)
    doc = pipe.get_pipe("sentencizer")(pipe.make_doc(gold.text))
    spans = [doc.char_span(s, e, label=label) for s, e, label in sorted(gold.spans)]
    assert all(span is not None for span in spans), spans
    doc.ents = [span for span in spans if span is not None]
    for name, component in pipe.pipeline:
        if name != "sentencizer":
            doc = component(doc)
    return doc
