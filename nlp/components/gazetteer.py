"""Knowledge-base ruler: institutions, crime groups and officials by name, alias and acronym.

Names and aliases match accent-folded and case-insensitive (a PhraseMatcher on NORM, which
this component sets to the folded text of each token: the model has already run). A match
must be capitalized at least where the knowledge base writes a capital, so that the crime
group "Los Niños" is not found in "los niños del barrio". Acronyms match as written.
Knowledge-base spans win over the statistical NER where they overlap.
"""

from __future__ import annotations

from collections.abc import Callable

from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans
from spacy.vocab import Vocab

from nlp.components.tokens import ARTICLES, PARTICLES, folded, is_cap
from nlp.kb import Entity, KnowledgeBase
from pesquisa.ids import fold

FOLDED, EXACT = "folded", "exact"
# After an institution's name, another country makes it that country's ("la Policía Nacional
# de Colombia", "el Congreso chileno"), not the Peruvian one of the knowledge base.
COUNTRIES = frozenset({
    "argentina", "bolivia", "brasil", "chile", "china", "colombia", "ecuador", "ee.uu.",
    "ee.uu", "eeuu", "espana", "estados", "francia", "italia", "mexico", "panama", "paraguay",
    "rusia", "uruguay", "venezuela",
})
DEMONYMS = frozenset({
    "argentina", "argentino", "boliviana", "boliviano", "brasilena", "brasileno", "chilena",
    "chileno", "colombiana", "colombiano", "ecuatoriana", "ecuatoriano", "espanola", "espanol",
    "estadounidense", "mexicana", "mexicano", "norteamericana", "norteamericano", "venezolana",
    "venezolano",
})


class Gazetteer:
    def __init__(self, vocab: Vocab, tokenizer: Callable[[str], Doc], kb: KnowledgeBase) -> None:
        self.vocab = vocab
        self.tokenizer = tokenizer
        self.kb = kb
        self.folded_matcher = PhraseMatcher(vocab, attr="NORM")
        self.exact_matcher = PhraseMatcher(vocab, attr="ORTH")
        # folded token tuple -> which positions must be capitalized in the text
        self.caps: dict[tuple[str, ...], tuple[bool, ...]] = {}
        self._norms: dict[int, str] = {}  # orth -> folded text, a cache
        for entity in kb.entities:
            self._add(entity)

    def _add(self, entity: Entity) -> None:
        folded_docs = []
        for surface in entity.surfaces():
            if self.kb.lookup(surface) is not entity:
                continue  # ambiguous alias, reported by the knowledge base
            doc = self._fold_norms(self.tokenizer(surface))
            words = tuple(t.norm_ for t in doc)
            mask = tuple(is_cap(t) and folded(t) not in PARTICLES for t in doc)
            if words in self.caps:  # two spellings of one key: ask only what both capitalize
                mask = tuple(a and b for a, b in zip(self.caps[words], mask, strict=True))
            self.caps[words] = mask
            folded_docs.append(doc)
        if folded_docs:
            self.folded_matcher.add(entity.id, folded_docs)
        exact_docs = [self.tokenizer(a.strip()) for a in entity.acronyms
                      if self.kb.exact.get(a.strip()) is entity]
        if exact_docs:
            self.exact_matcher.add(entity.id, exact_docs)

    def _fold_norms(self, doc: Doc) -> Doc:
        for token in doc:
            norm = self._norms.get(token.orth)
            if norm is None:
                norm = self._norms[token.orth] = fold(token.text)
            token.norm_ = norm
        return doc

    def _capitalized(self, span: Span) -> bool:
        mask = self.caps.get(tuple(t.norm_ for t in span))
        if mask is None:
            return True
        return all(is_cap(t) or not needed for t, needed in zip(span, mask, strict=True))

    def matches(self, doc: Doc) -> list[tuple[Span, Entity]]:
        """Knowledge-base spans, longest first where they overlap, with their entities."""
        if not self.kb.entities:
            return []
        self._fold_norms(doc)
        found = []
        for match_id, start, end in self.folded_matcher(doc):
            span = doc[start:end]
            if self._capitalized(span):
                found.append((match_id, span))
        found.extend((m, doc[s:e]) for m, s, e in self.exact_matcher(doc))
        entities = {}
        for match_id, span in found:
            entities[span.start, span.end] = self.kb.by_id[self.vocab.strings[match_id]]
        spans = filter_spans([doc[s:e] for s, e in entities])
        return [(span, entities[span.start, span.end]) for span in spans
                if not (entities[span.start, span.end].kind == "institution"
                        and foreign(doc, span.end))]

    def __call__(self, doc: Doc) -> Doc:
        found = self.matches(doc)
        if not found:
            return doc
        ents = []
        for ent in doc.ents:
            ents.extend(_outside(ent, [span for span, _ in found]))
        for matched, entity in found:
            span = Span(doc, matched.start, matched.end, label=entity.label)
            span._.entity_id = entity.id
            span._.kind = entity.kind
            span._.canonical = entity.name
            span._.source = "kb"
            ents.append(span)
        doc.ents = sorted(ents, key=lambda s: s.start)
        return doc


def foreign(doc: Doc, i: int) -> bool:
    """A country ("de Colombia", "del Ecuador", "de los Estados Unidos") or a nationality
    ("chileno") at token i."""
    words = [folded(t) for t in doc[i:i + 3]]
    if words[:1] and words[0] in DEMONYMS:
        return True
    if words[:1] not in (["de"], ["del"]):
        return False
    rest = words[2:] if words[1:2] in (["la"], ["los"]) else words[1:]
    return bool(rest) and rest[0] in COUNTRIES


def _outside(ent: Span, kb_spans: list[Span]) -> list[Span]:
    """What remains of a model span around knowledge-base spans: the KB span wins the overlap,
    a capitalized remainder keeps its label ("Fiscalía de la Nación Delia Espinoza" -> the
    institution from the KB and "Delia Espinoza" from the model)."""
    hits = [s for s in kb_spans if s.start < ent.end and ent.start < s.end]
    if not hits:
        return [ent]
    pieces, start = [], ent.start
    for hit in sorted(hits, key=lambda s: s.start):
        pieces.append((start, hit.start))
        start = max(start, hit.end)
    pieces.append((start, ent.end))
    doc = ent.doc
    kept = []
    for s, e in pieces:
        while s < e and not is_cap(doc[s]):
            s += 1
        while e > s and not is_cap(doc[e - 1]):
            e -= 1
        if e > s and any(ch.isalpha() for ch in doc[s:e].text) and len(doc[s:e].text) > 1:
            if all(folded(t) in ARTICLES or folded(t) in PARTICLES for t in doc[s:e]):
                continue  # "La" of the model's "La Fiscalía de la Nación" is no name
            kept.append(Span(doc, s, e, label=ent.label_))
    return kept
