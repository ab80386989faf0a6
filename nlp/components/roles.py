"""Role patterns: "el fiscal de la Nación X", "la jueza Y", "X, ministro del Interior,".

Without POS tags, a role is a head word ("fiscal", "exministra", "general"), then qualifiers
from a fixed list ("de la Nación", "supremo", "del Interior", "PNP") or a "de/del" followed by
an organization or place entity ("presidente del Poder Judicial", "alcalde de Lima"). The name
is the person entity that follows (or precedes, in an apposition), else the capitalized run
that follows. A role without a name yields nothing. Names found in the knowledge base keep
their entity and get the role; others become `official` spans (label PER).
"""

from __future__ import annotations

from spacy.tokens import Doc, Span

from nlp.components.tokens import QUOTES, cap_run, folded, is_cap, overlaps, sentence_end

HEADS = frozenset({
    "fiscal", "fiscala", "juez", "jueza", "vocal", "magistrado", "magistrada", "congresista",
    "parlamentario", "parlamentaria", "legislador", "legisladora", "ministro", "ministra",
    "viceministro", "viceministra", "premier", "presidente", "presidenta", "vicepresidente",
    "vicepresidenta", "general", "coronel", "comandante", "teniente", "capitan", "mayor",
    "suboficial", "comisario", "contralor", "contralora", "vicecontralor", "procurador",
    "procuradora", "gobernador", "gobernadora", "alcalde", "alcaldesa", "canciller",
    "defensor", "defensora", "jefe", "jefa", "director", "directora", "superintendente",
    "consejero", "consejera", "regidor", "regidora", "prefecto", "prefecta", "subprefecto",
    "almirante", "vicealmirante", "contralmirante", "titular",
})
# Heads that are also everyday words ("en general", "mayor que"): only after a determiner.
NEED_DETERMINER = frozenset({"general", "mayor", "titular", "director", "directora", "jefe",
                             "jefa", "vocal", "fiscal", "teniente", "comandante", "defensor",
                             "defensora", "consejero", "consejera"})
DETERMINERS = frozenset({"el", "la", "al", "del", "los", "las", "un", "una", "su", "sus",
                         "nuevo", "nueva", "actual", "entonces", "ex"})
PLACE_HEADS = frozenset({"alcalde", "alcaldesa", "gobernador", "gobernadora", "prefecto",
                         "prefecta", "subprefecto", "regidor", "regidora", "consejero",
                         "consejera"})
# Qualifiers, accent-folded; the longest that fits is taken, again and again.
QUALIFIERS = tuple(tuple(q.split()) for q in sorted({
    "de la nacion", "supremo", "suprema", "provisional", "provisorio", "titular", "provincial",
    "superior", "adjunto", "adjunta", "anticorrupcion", "penal", "general", "regional",
    "interino", "interina", "encargado", "encargada", "electo", "electa", "saliente",
    "en retiro", "( r )", "pnp", "ep", "fap", "de la pnp", "de la policia",
    "de la policia nacional", "de la policia nacional del peru", "de la republica",
    "del consejo de ministros", "del congreso", "del congreso de la republica",
    "del poder judicial", "de la corte suprema", "de la corte superior", "del pueblo",
    "del interior", "de justicia", "de justicia y derechos humanos", "de economia",
    "de economia y finanzas", "de defensa", "de salud", "de educacion", "de trabajo",
    "de trabajo y promocion del empleo", "de energia y minas", "de transportes",
    "de transportes y comunicaciones", "de vivienda", "de vivienda construccion y saneamiento",
    "de la produccion", "de produccion", "de cultura", "del ambiente", "de la mujer",
    "de la mujer y poblaciones vulnerables", "de desarrollo e inclusion social",
    "de relaciones exteriores", "de comercio exterior y turismo", "de desarrollo agrario",
    "de desarrollo agrario y riego", "de agricultura", "de la contraloria",
    "de la contraloria general de la republica", "del tribunal constitucional",
    "del jurado nacional de elecciones", "de la junta nacional de justicia",
    "de la sala penal", "de la sala penal permanente", "de la sala penal transitoria",
    "de investigacion preparatoria", "de la fiscalia", "de turno", "del caso",
}, key=len, reverse=True))
CONNECTORS = (("de", "la"), ("de", "los"), ("de", "las"), ("del",), ("de",))
NAME_LIMIT = 6


class RoleTagger:
    def __call__(self, doc: Doc) -> Doc:
        i = 0
        while i < len(doc):
            head = _head(doc, i)
            if head is None:
                i += 1
                continue
            start, head_end = head
            end, fixed = _qualifiers(doc, head_end, folded(doc[head_end - 1]))
            _drop_model_ents(doc, fixed)
            role = _role_text(doc[start:end])
            if not _apposition(doc, start, end, role):
                _following(doc, end, role)
            i = max(end, i + 1)
        return doc


def _head(doc: Doc, i: int) -> tuple[int, int] | None:
    """(start, end) of a role head at token i: "fiscal", "exministro", "ex ministro", "ex-juez"."""
    word = folded(doc[i])
    end = i + 1
    if word == "ex" and i + 1 < len(doc):
        j = i + 2 if doc[i + 1].text == "-" else i + 1
        if j < len(doc) and folded(doc[j]) in HEADS:
            return i, j + 1
        return None
    base = word[2:].lstrip("-") if word.startswith("ex") and len(word) > 4 else word
    if base not in HEADS:
        return None
    if doc[i].text.isupper() and len(doc[i]) > 1:
        return None  # "PRESIDENTE" in a shouted headline, or an acronym
    previous = folded(doc[i - 1]) if i > 0 else ""
    at_start = i == 0 or doc[i].is_sent_start or previous in {",", ":", "(", "."}
    if (base in NEED_DETERMINER and base == word and previous not in DETERMINERS
            and not at_start):
        return None
    return i, end


def _match_qualifier(doc: Doc, i: int) -> int:
    for words in QUALIFIERS:
        j = i + len(words)
        if j <= len(doc) and all(folded(doc[i + k]) == w for k, w in enumerate(words)):
            return j
    return i


def _connector_entity(doc: Doc, i: int, labels: frozenset[str]) -> int:
    """End of "de (la) <ORG/LOC entity>" at token i, or i."""
    for connector in CONNECTORS:
        j = i + len(connector)
        if j < len(doc) and all(folded(doc[i + k]) == w for k, w in enumerate(connector)):
            for ent in doc.ents:
                if ent.start == j and ent.label_ in labels:
                    return ent.end
    return i


def _qualifiers(doc: Doc, i: int, head: str) -> tuple[int, list[tuple[int, int]]]:
    """End of the role phrase, and the token ranges that matched the fixed qualifier list."""
    base = head[2:].lstrip("-") if head.startswith("ex") and len(head) > 4 else head
    fixed = []
    while i < len(doc):
        listed = _match_qualifier(doc, i)
        if listed > i:
            fixed.append((i, listed))
        nxt = max(listed, _connector_entity(doc, i, frozenset({"ORG"})))
        if nxt == i and base in PLACE_HEADS:
            nxt = _connector_entity(doc, i, frozenset({"LOC", "ORG"}))
            if nxt == i and folded(doc[i]) in {"de", "del"} and i + 1 < len(doc):
                place = i + 1
                if is_cap(doc[place]) and not _person_at(doc, place):
                    two = folded(doc[place]) in {"la", "san", "santa", "el", "villa", "puerto"}
                    nxt = place + (2 if two and place + 1 < len(doc) else 1)
        if nxt == i:
            break
        i = nxt
    return i, fixed


def _drop_model_ents(doc: Doc, ranges: list[tuple[int, int]]) -> None:
    """Role words are no entity: the model's "Nación" in "fiscal de la Nación" goes."""
    if not ranges:
        return
    keep = [e for e in doc.ents if e._.source is not None
            or not any(s <= e.start and e.end <= end for s, end in ranges)]
    if len(keep) < len(doc.ents):
        doc.ents = keep


def _person_at(doc: Doc, i: int) -> bool:
    return any(ent.start == i and ent.label_ == "PER" for ent in doc.ents)


def _role_text(span: Span) -> str:
    text = " ".join(span.text.split())
    first = span[0].text
    if first[:1].isupper() and not first.isupper():
        text = text[0].lower() + text[1:]
    return text.replace("( r )", "(r)")


def _name_span(doc: Doc, i: int) -> Span | None:
    """The name starting at token i: an entity there, or a capitalized run."""
    if i >= len(doc):
        return None
    for ent in doc.ents:
        if ent.start == i:
            if ent._.source == "kb" and ent._.kind != "official":
                return None  # an institution or crime group, not a person
            if ent.label_ == "PER" or _looks_like_name(ent):
                return ent
        if ent.start < i < ent.end and ent._.source == "kb":
            return None
    end = cap_run(doc, i, NAME_LIMIT, sentence_end(doc, i))
    return doc[i:end] if end > i else None


def _looks_like_name(span: Span) -> bool:
    words = [t for t in span if not t.is_punct]
    return 0 < len(words) <= NAME_LIMIT and all(is_cap(t) or (t.is_lower and len(t) <= 3)
                                                 for t in words)


def _following(doc: Doc, end: int, role: str) -> None:
    """"el fiscal de la Nación X", "el fiscal de la Nación, X, dijo"."""
    comma = end < len(doc) and doc[end].text == ","
    name = _name_span(doc, end + 1 if comma else end)
    if name is None:
        return
    if comma and name.label_ != "PER" and len(name) < 2:
        return  # "la ministra de Justicia, Lima..." is no name
    if name and name[0].text in QUOTES:
        return
    _tag(doc, name, role)


def _apposition(doc: Doc, start: int, end: int, role: str) -> bool:
    """"X, fiscal de la Nación," and "X, ministro del Interior," with X a person entity."""
    if start < 2 or doc[start - 1].text != ",":
        return False
    closing = end >= len(doc) or doc[end].text in {",", ".", ";", ")"} or doc[end].is_sent_start
    if not closing:
        return False
    for ent in doc.ents:
        if ent.end == start - 1 and (ent.label_ == "PER" or _looks_like_name(ent)):
            if ent._.source == "kb" and ent._.kind != "official":
                return False
            _tag(doc, ent, role)
            return True
    return False


def _tag(doc: Doc, name: Span, role: str) -> None:
    if name._.source == "kb" and name._.kind == "official":
        if not name._.role:
            name._.role = role
        return
    if name._.source == "pattern":
        return
    blocking = [e for e in overlaps(name, doc.ents) if e._.source in {"kb", "pattern"}]
    if blocking:
        return
    span = Span(doc, name.start, name.end, label="PER")
    doc.ents = [e for e in doc.ents if not (e.start < span.end and span.start < e.end)] + [span]
    span._.kind = "official"
    span._.role = role
    span._.source = "pattern"
