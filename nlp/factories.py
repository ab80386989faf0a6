"""Every spaCy factory Pesquisa registers lives here; the logic lives in nlp/components/."""

from __future__ import annotations

from spacy.language import Language

from nlp.components.case_numbers import CaseNumberFinder
from nlp.components.crime_groups import CrimeGroupTagger
from nlp.components.crime_types import DEFAULT_PATH as CRIME_TYPES_PATH
from nlp.components.crime_types import CrimeTypeTagger, load_table
from nlp.components.entity_filter import EntityFilter
from nlp.components.gazetteer import Gazetteer
from nlp.components.normalize import Normalizer
from nlp.components.roles import RoleTagger
from nlp.extensions import register as register_extensions
from nlp.kb import shared_kb

register_extensions()


@Language.factory(
    "pesquisa_entity_filter",
    default_config={"min_chars": 2, "labels": ["PER", "ORG", "LOC"]},
)
def make_entity_filter(
    nlp: Language, name: str, min_chars: int, labels: list[str]
) -> EntityFilter:
    return EntityFilter(min_chars=min_chars, labels=labels)


@Language.factory("pesquisa_crime_types", default_config={"path": ""})
def make_crime_types(nlp: Language, name: str, path: str) -> CrimeTypeTagger:
    """`path` "" means the table shipped in config/kb/crime_types.yml."""
    return CrimeTypeTagger(load_table(path or CRIME_TYPES_PATH))


@Language.factory("pesquisa_case_numbers")
def make_case_numbers(nlp: Language, name: str) -> CaseNumberFinder:
    return CaseNumberFinder()


@Language.factory("pesquisa_gazetteer", default_config={"kb": "config/kb"})
def make_gazetteer(nlp: Language, name: str, kb: str) -> Gazetteer:
    """`kb`: the knowledge base folder (settings `kb`); without it the ruler matches nothing."""
    return Gazetteer(nlp.vocab, nlp.tokenizer, shared_kb(kb))


@Language.factory("pesquisa_roles")
def make_roles(nlp: Language, name: str) -> RoleTagger:
    return RoleTagger()


@Language.factory("pesquisa_crime_groups")
def make_crime_groups(nlp: Language, name: str) -> CrimeGroupTagger:
    return CrimeGroupTagger()


@Language.factory(
    "pesquisa_normalize", default_config={"kb": "config/kb", "misc_kind": "organization"}
)
def make_normalize(nlp: Language, name: str, kb: str, misc_kind: str) -> Normalizer:
    return Normalizer(shared_kb(kb), misc_kind=misc_kind)
