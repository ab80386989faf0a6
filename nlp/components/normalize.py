"""Normalization, last in the pipeline: every entity span gets `_.kind`, `_.canonical` and
`_.entity_id`.

In order:
1. Knowledge-base entities keep their entry (the gazetteer set it); any other span whose
   title-stripped text is a KB name, alias or acronym gets that entry.
2. Within-document coreference of people: a mention whose words (accent-folded) all appear, in
   order, in exactly one longer name of the document ("Boluarte", "Dina" after "Dina Boluarte";
   for a KB person also its aliases, "Boluarte Zegarra") is that person, whether the full name
   comes earlier or later. When several people fit ("Fujimori" with both Keiko Fujimori and
   Alberto Fujimori in the text), the text must distinguish them, else the mention stays apart
   under its own key:
   a. the mention's role ("el expresidente Fujimori") fits the known roles (KB or in this
      document) of exactly one of them, or
   b. exactly one of them is named in full in the mention's sentence.
   Nicknames found by the crime-group component ("alias 'El Diablo'") join their person; a
   later mention of the same nickname does too.
3. Other names: the accent-folded, title-stripped key ("el señor Juan Pérez" -> "Juan Pérez",
   id `person:juan-perez`).

Kinds: PER -> person (official when a role or the KB says so), ORG -> organization
(institution or crime_group when the KB or the patterns say so), LOC -> place, MISC ->
`misc_kind` (organization by default; the entity filter drops MISC unless configured to keep it).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from spacy.tokens import Doc, Span

from nlp.components.gazetteer import foreign
from nlp.components.roles import HEADS
from nlp.components.tokens import QUOTES, folded
from nlp.kb import KnowledgeBase, key, slug

KINDS = {"PER": "person", "ORG": "organization", "LOC": "place"}
LABELS = {"official": "PER", "person": "PER", "institution": "ORG", "crime_group": "ORG",
          "organization": "ORG", "place": "LOC"}
TITLES = frozenset({
    "el", "la", "los", "las", "don", "dona", "senor", "senora", "senorita", "sr", "sra", "srta",
    "dr", "dra", "doctor", "doctora", "ing", "lic", "abog", "mg", "gral", "crnl", "cmdte", "tte",
    "sto", "ex", *HEADS, *(f"ex{h}" for h in HEADS),
})
STRIP = " \t\n.,;:" + "".join(QUOTES)
# First words of public bodies missing from the knowledge base ("la Fiscalía", "el Juzgado de
# Investigación Preparatoria de Puente Piedra", "la Comisaría de Comas"): the small model calls
# them places or people; by their head word they are institutions.
INSTITUTION_HEADS = frozenset({
    "fiscalia", "fiscalias", "policia", "procuraduria", "contraloria", "ministerio", "juzgado",
    "sala", "corte", "direccion", "division", "unidad", "comision", "congreso", "municipalidad",
    "gobierno", "superintendencia", "instituto", "tribunal", "jurado", "defensoria",
    "comisaria", "prefectura", "subprefectura", "ejercito", "consejo", "junta", "secretaria",
    "gerencia", "intendencia", "agencia", "autoridad", "organismo", "oficina", "departamento",
    "subcomision", "region", "dirincri", "depincri",
})
CONNECTORS = frozenset({"de", "del", "la", "las", "los", "el", "y", "e", "en", "contra", "para",
                        "sobre", "a", "al"})


@dataclass
class Person:
    """One person of the document: a KB official or the longest name seen."""

    id: str | None
    kind: str
    canonical: str
    names: list[tuple[str, ...]]
    roles: set[str] = field(default_factory=set)
    sentences: set[int] = field(default_factory=set)


class Normalizer:
    def __init__(self, kb: KnowledgeBase, misc_kind: str = "organization") -> None:
        self.kb = kb
        self.kinds = {**KINDS, "MISC": misc_kind}

    def __call__(self, doc: Doc) -> Doc:
        ents = []
        changed = False
        for ent in doc.ents:
            new = self._prepare(ent)
            changed = changed or new is not ent
            if new is not None:
                ents.append(new)
        if changed:
            doc.ents = ents
        self._people(doc, [e for e in doc.ents if e.label_ == "PER"])
        for ent in doc.ents:
            if ent._.entity_id is None:
                ent._.entity_id = f"{ent._.kind}:{slug(ent._.canonical)}"
        return doc

    def _prepare(self, ent: Span) -> Span | None:
        """Trim titles off model spans, apply the knowledge base, set kind and canonical."""
        source = ent._.source or "model"
        span = _trim(ent) if source == "model" else ent
        if span is None:
            return None
        if span is not ent:
            span._.aliases = ent._.aliases
        span._.source = source
        if span._.entity_id is None and span._.alias_of is None:
            entity = self.kb.lookup(clean_name(span))
            if entity is not None and entity.kind == "institution" and foreign(span.doc, span.end):
                entity = None  # "Policía Nacional" in "la Policía Nacional colombiana"
            if entity is not None:
                if span.label_ != entity.label:
                    span = Span(span.doc, span.start, span.end, label=entity.label)
                    span._.source = source
                span._.entity_id = entity.id
                span._.kind = entity.kind
                span._.canonical = entity.name
        if span._.kind is None and source == "model":
            span = _as_institution(span)
        if span._.kind is None:
            span._.kind = self.kinds.get(span.label_, "organization")
        if span._.canonical is None:
            span._.canonical = clean_name(span)
            if span._.kind == "place" and span._.canonical.isupper():
                span._.canonical = span._.canonical.title()  # a dateline's "LIMA"
        return span

    def _people(self, doc: Doc, spans: list[Span]) -> None:
        starts = [s.start for s in doc.sents] if doc.has_annotation("SENT_START") else [0]
        people: list[Person] = []
        found: dict[int, Person] = {}  # span start -> person
        by_id: dict[str, Person] = {}
        for span in spans:
            if span._.entity_id is not None:  # from the knowledge base
                person = by_id.get(span._.entity_id)
                if person is None:
                    entity = self.kb.by_id.get(span._.entity_id)
                    names = [tuple(key(n).split()) for n in
                             ([*entity.surfaces()] if entity else [span._.canonical])]
                    roles = {_role_stem(r) for r in entity.roles} if entity else set()
                    person = by_id[span._.entity_id] = Person(
                        span._.entity_id, span._.kind, span._.canonical, names, roles)
                    people.append(person)
                self._join(person, span, starts)
                found[span.start] = person
        nicknames = [s for s in spans if s._.alias_of is not None]
        others = [s for s in spans if s._.entity_id is None and s._.alias_of is None]
        for span in sorted(others, key=lambda s: -len(_words(s))):
            words = _words(span)
            if not words:
                continue
            fits = [p for p in people if any(_within(words, n) for n in p.names)]
            if len(fits) > 1:
                fits = self._distinguish(span, fits, starts)
            if len(fits) == 1:
                person = fits[0]
                if len(words) > 1 and words not in person.names:
                    person.names.append(words)
            elif not fits:
                person = Person(None, span._.kind, span._.canonical, [words])
                people.append(person)
            else:  # ambiguous: stays apart under its own key
                continue
            self._join(person, span, starts)
            found[span.start] = person
        for span in nicknames:
            owner = next((found[s.start] for s in spans if s.start in found
                          and s.start_char < span._.alias_of[1]
                          and span._.alias_of[0] < s.end_char), None)
            if owner is None:
                owner = Person(None, span._.kind, span._.canonical, [])
                people.append(owner)
            words = _words(span)
            owner.names.append(words)
            found[span.start] = owner
            for other in [p for p in people if p is not owner and p.id is None
                          and p.names == [words]]:  # a later bare "El Diablo"
                people.remove(other)
                for start, person in list(found.items()):
                    if person is other:
                        found[start] = owner
        for person in people:
            if person.id is None:
                person.id = f"{person.kind}:{slug(person.canonical)}"
        by_name = {n: p for p in people for n in p.names}
        for span in spans:
            person = found.get(span.start) or by_name.get(_words(span))
            if person is None:
                continue
            span._.entity_id = person.id
            span._.kind = person.kind
            span._.canonical = person.canonical

    @staticmethod
    def _join(person: Person, span: Span, starts: list[int]) -> None:
        person.sentences.add(bisect_right(starts, span.start))
        if span._.role:
            person.roles.add(_role_stem(span._.role))
            if person.kind == "person":
                person.kind = "official"

    @staticmethod
    def _distinguish(span: Span, fits: list[Person], starts: list[int]) -> list[Person]:
        if span._.role:
            stem = _role_stem(span._.role)
            by_role = [p for p in fits if stem in p.roles]
            if len(by_role) == 1:
                return by_role
        sentence = bisect_right(starts, span.start)
        nearby = [p for p in fits if sentence in p.sentences]
        return nearby if len(nearby) == 1 else fits


def _trim(ent: Span) -> Span | None:
    """The span without leading titles ("el señor", "Dr.", "fiscal") and edge punctuation."""
    start, end = ent.start, ent.end
    doc = ent.doc
    people = ent.label_ == "PER"
    while start < end and ((people and _is_title(doc, start)) or doc[start].text in STRIP
                           or doc[start].is_punct):
        start += 1
    while end > start and (doc[end - 1].text in QUOTES or doc[end - 1].text in ",;:"):
        end -= 1
    if start == end:
        return None
    if (start, end) == (ent.start, ent.end):
        return ent
    return Span(doc, start, end, label=ent.label_)


def _as_institution(span: Span) -> Span:
    """A model span headed by an institution word ("La Fiscalía" tagged LOC) becomes an
    institution, without its leading article."""
    doc, start = span.doc, span.start
    if folded(doc[start]) in {"el", "la", "los", "las"} and start + 1 < span.end:
        start += 1
    if folded(doc[start]) not in INSTITUTION_HEADS or not doc[start].text[:1].isupper():
        return span
    if not all(t.text[:1].isupper() or folded(t) in CONNECTORS for t in doc[start:span.end]):
        return span  # "Gobierno anunció": the model's span ran past the name
    if any(foreign(doc, i) for i in range(start + 1, span.end + 1)):
        return span  # another country's body ("Congreso de Chile"): not one of ours
    found = Span(doc, start, span.end, label="ORG")
    found._.source = span._.source
    found._.aliases = span._.aliases
    found._.kind = "institution"
    return found


def _is_title(doc: Doc, i: int) -> bool:
    word = folded(doc[i]).rstrip(".")
    if word not in TITLES or i + 1 >= len(doc):
        return False
    # An article belongs to some names ("La Libertad", "Los Pulpos"): only strip before people.
    if word in {"el", "la", "los", "las"}:
        return doc[i].ent_type_ == "PER" and doc[i].text.islower()
    return True


def clean_name(span: Span) -> str:
    return " ".join(span.text.split()).strip(STRIP)


def _words(span: Span) -> tuple[str, ...]:
    return tuple(key(span._.canonical or span.text).split())


def _within(words: tuple[str, ...], name: tuple[str, ...]) -> bool:
    """All of `words`, in order, among `name`'s words."""
    it = iter(name)
    return all(w in it for w in words)


def _role_stem(role: str) -> str:
    """ "expresidente de la República" -> "president"; "ministra" -> "ministr"."""
    head = key(role).split(" ", 1)[0]
    if head.startswith("ex") and head[2:] in HEADS:
        head = head[2:]
    return head[:-1] if head[-1:] in {"a", "e", "o"} and len(head) > 4 else head
