"""Crime-group and nickname patterns.

"la organización criminal 'Los X'", "la banda Los Y", "el clan Z", "la red criminal Los W",
"la facción ...": the name after the trigger (quoted, or a capitalized run) becomes a
`crime_group` span (label ORG) unless the knowledge base already has it.

"alias 'El Diablo'", "(a) El Monstruo", "alias Chacal": the nickname becomes a PER span. Right
after a person ("Erick Moreno, alias 'El Monstruo'") it names that person: the nickname span's
`_.alias_of` points at the person span, whose `_.aliases` lists the nickname, and normalization
gives both one entity. A nickname with no person before it is a person named by the nickname.
"""

from __future__ import annotations

from spacy.tokens import Doc, Span

from nlp.components.tokens import QUOTES, cap_run, folded, is_cap, sentence_end

TRIGGERS = tuple(tuple(t.split()) for t in sorted({
    "organizacion criminal", "organizacion delictiva", "organizacion", "banda criminal",
    "banda delictiva", "banda", "clan", "red criminal", "red delictiva", "faccion", "cartel",
    "pandilla", "grupo criminal", "mafia", "presunta organizacion criminal",
    "presunta banda criminal",
}, key=len, reverse=True))
# Words that may sit between the trigger and the name: "la banda denominada 'Los Z'".
LINKS = (("denominada",), ("denominado",), ("autodenominada",), ("autodenominado",),
         ("conocida", "como"), ("conocido", "como"), ("llamada",), ())
NAME_LIMIT = 7
NICKNAME_LIMIT = 5


class CrimeGroupTagger:
    def __call__(self, doc: Doc) -> Doc:
        i = 0
        while i < len(doc):
            end = _trigger(doc, i)
            if end > i:
                i = self._group(doc, end) or end
            elif folded(doc[i]) == "alias" or _parenthesized_a(doc, i):
                i = _nickname(doc, i, i + (3 if doc[i].text == "(" else 1)) or i + 1
            else:
                i += 1
        return doc

    def _group(self, doc: Doc, i: int) -> int | None:
        for link in LINKS:
            j = i + len(link)
            if j < len(doc) and all(folded(doc[i + k]) == w for k, w in enumerate(link)):
                name = _name(doc, j, NAME_LIMIT)
                if name is not None:
                    _put(doc, name, "ORG", kind="crime_group")
                    return name.end
        return None


def _trigger(doc: Doc, i: int) -> int:
    for words in TRIGGERS:
        j = i + len(words)
        if j <= len(doc) and all(folded(doc[i + k]) == w for k, w in enumerate(words)):
            if doc[i].text.isupper() and len(doc[i]) > 1:
                return i
            return j
    return i


def _parenthesized_a(doc: Doc, i: int) -> bool:
    return (i + 2 < len(doc) and doc[i].text == "(" and folded(doc[i + 1]) == "a"
            and doc[i + 2].text == ")")


def _name(doc: Doc, i: int, limit: int) -> Span | None:
    """A quoted name, or a capitalized run ("Los Malditos del Sauce")."""
    if i >= len(doc):
        return None
    end_of_sentence = sentence_end(doc, i)
    if doc[i].text in QUOTES:
        for j in range(i + 1, min(i + 1 + limit, end_of_sentence)):
            if doc[j].text in QUOTES:
                inner = doc[i + 1:j]
                return inner if len(inner) and is_cap(inner[0]) else None
        return None
    end = cap_run(doc, i, limit, end_of_sentence)
    return doc[i:end] if end > i else None


def _nickname(doc: Doc, trigger: int, i: int) -> int | None:
    start = i
    if i < len(doc) and folded(doc[i]) in {"el", "la", "los"} and not is_cap(doc[i]):
        i += 1  # "alias el Loco": the lowercase article stays outside
    name = _name(doc, i, NICKNAME_LIMIT)
    if name is None:
        return None
    person = _person_before(doc, trigger)
    kind = (person._.kind if person is not None else None) or "person"
    nickname = _put(doc, name, "PER", kind=kind)
    if nickname is not None and person is not None:
        nickname._.alias_of = [person.start_char, person.end_char]
        person._.aliases = [*(person._.aliases or []), nickname.text]
    return max(name.end, start + 1)


def _person_before(doc: Doc, trigger: int) -> Span | None:
    """The person entity ending right before "alias" (a comma, parenthesis or quote between)."""
    j = trigger
    while j > 0 and j > trigger - 3 and (doc[j - 1].text in {",", "("} or doc[j - 1].text in
                                        QUOTES):
        j -= 1
    for ent in doc.ents:
        if ent.end == j and ent.label_ == "PER" and ent._.alias_of is None:
            return ent
    return None


def _put(doc: Doc, name: Span, label: str, kind: str) -> Span | None:
    """Add the span unless the knowledge base or another pattern already has those tokens."""
    for ent in doc.ents:
        if ent.start < name.end and name.start < ent.end and ent._.source in {"kb", "pattern"}:
            return None
    span = Span(doc, name.start, name.end, label=label)
    doc.ents = [e for e in doc.ents if not (e.start < span.end and span.start < e.end)] + [span]
    span._.kind = kind
    span._.source = "pattern"
    return span
