"""Measure NER against a gold file of sentences with inline `[text](LABEL)` marks."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from spacy.language import Language

MARK = re.compile(r"\[([^\[\]]+)\]\((PER|ORG|LOC)\)")
LABELS = ("PER", "ORG", "LOC")

Span = tuple[int, int, str]


@dataclass(frozen=True)
class GoldSentence:
    text: str
    spans: frozenset[Span]


def parse_gold_line(line: str) -> GoldSentence:
    """Strip the marks; return the plain text and the marked spans' character offsets."""
    text, spans, last = "", set(), 0
    for match in MARK.finditer(line):
        text += line[last:match.start()]
        spans.add((len(text), len(text) + len(match.group(1)), match.group(2)))
        text += match.group(1)
        last = match.end()
    return GoldSentence(text + line[last:], frozenset(spans))


def read_gold(path: Path) -> list[GoldSentence]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [parse_gold_line(s.strip()) for s in lines if s.strip() and not s.startswith("#")]


@dataclass
class Score:
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)

    def prf(self, label: str | None = None) -> tuple[float, float, float]:
        labels = [label] if label else list(LABELS)
        tp = sum(self.tp[x] for x in labels)
        fp = sum(self.fp[x] for x in labels)
        fn = sum(self.fn[x] for x in labels)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1


def score(nlp: Language, gold: Iterable[GoldSentence], *, ignore_label: bool = False) -> Score:
    """Exact-span scoring; with ignore_label, a span counts whatever label it got."""
    result = Score()
    sentences = list(gold)
    for sentence, doc in zip(sentences, nlp.pipe(s.text for s in sentences), strict=True):
        predicted = {(e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ in LABELS}
        expected = set(sentence.spans)
        if ignore_label:
            gold_bounds = {(s, e): label for s, e, label in expected}
            predicted = {(s, e, gold_bounds.get((s, e), label)) for s, e, label in predicted}
        for span in predicted & expected:
            result.tp[span[2]] += 1
        for span in predicted - expected:
            result.fp[span[2]] += 1
        for span in expected - predicted:
            result.fn[span[2]] += 1
    return result


def report(result: Score) -> str:
    lines = []
    for label in (*LABELS, None):
        p, r, f = result.prf(label)
        lines.append(f"{label or 'all':4} precision {p:.3f}  recall {r:.3f}  f1 {f:.3f}")
    return "\n".join(lines)
