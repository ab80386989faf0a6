"""Text analysis, in one place for both index backends: tokenize, fold, stem.

Both backends index the token streams computed here (SQLite FTS5 columns, Elasticsearch fields
with the built-in `whitespace` analyzer), and queries are analyzed by the same functions, so a
query finds the same documents in either engine by construction. Each text gives two streams:

- `stems`: lowercased, accent-folded, Snowball Spanish stems ("Lavados" -> "lav"), for terms,
  phrases and proximity;
- `folded`: lowercased and accent-folded words ("lavados"), for prefix wildcards (`lav*`),
  which must not be cut to a stem first ("lavado*" must still find "lavados").

Stop words are indexed (phrases such as "Ministerio del Interior" need them); the query layer
drops them from bare terms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

import Stemmer

# Letters and digits of any script; everything else separates tokens (as FTS5's unicode61).
TOKEN = re.compile(r"[^\W_]+")
MAX_TOKEN_CHARS = 64  # longer runs (base64, hashes) are cut: they are never searched whole

_stemmer = Stemmer.Stemmer("spanish")
_stemmer.maxCacheSize = 200_000

# Snowball's Spanish stop list, folded (the words a bare query term is dropped for).
_STOP_LIST = """
a al algo algunas algunos ante antes como con contra cual cuando de del desde donde durante e
el ella ellas ellos en entre era erais eramos eran eras eres es esa esas ese eso esos esta estaba
estado estais estamos estan estar estas este esto estos estoy fue fueron fui fuimos ha habia
han has hasta hay la las le les lo los mas me mi mis mucho muchos muy nada ni no nos nosotros o
os otra otros para pero poco por porque que quien quienes se sea sean ser si sido sin sobre sois
somos son soy su sus suya suyo tambien tanto te tenemos tiene tienen todo todos tu tus un una
uno unos vosotros y ya yo
"""
STOP_WORDS = frozenset(_STOP_LIST.split())


@lru_cache(maxsize=200_000)
def fold(word: str) -> str:
    """Lowercase without accents: "Fiscalía" -> "fiscalia", "Ñaña" -> "nana", "𝔉" -> "f".

    Compatibility forms are decomposed too (NFKD), so the result may hold separators
    ("¼" -> "1⁄4"): `_analyzed` splits it again into tokens.
    """
    lowered = word.casefold()
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@lru_cache(maxsize=200_000)
def _analyzed(word: str) -> tuple[tuple[str, str], ...]:
    """(folded, stem) of each token a word becomes: usually one; none for a word of combining
    marks only; several when folding reveals separators."""
    folded = fold(word)
    parts = [folded] if folded.isascii() and folded.isalnum() else TOKEN.findall(folded)
    return tuple(
        (part[:MAX_TOKEN_CHARS], str(_stemmer.stemWord(part[:MAX_TOKEN_CHARS])))
        for part in parts
    )


def words(text: str) -> Iterator[re.Match[str]]:
    """The word tokens of a text, with their offsets (for highlighting)."""
    return TOKEN.finditer(text)


def tokens_of(word: str) -> tuple[tuple[str, str], ...]:
    """(folded, stem) of the tokens one word of a text becomes."""
    return _analyzed(word)


def analyze(text: str) -> tuple[list[str], list[str]]:
    """(stems, folded) token lists of a text, position for position."""
    pairs = [pair for word in TOKEN.findall(text) for pair in _analyzed(word)]
    return [s for _, s in pairs], [f for f, _ in pairs]


def streams(title: str, text: str) -> tuple[str, str, str, str]:
    """(title_s, text_s, title_f, text_f): the space-joined streams both backends index."""
    title_s, title_f = analyze(title)
    text_s, text_f = analyze(text)
    return " ".join(title_s), " ".join(text_s), " ".join(title_f), " ".join(text_f)


def stems(text: str) -> list[str]:
    return [s for word in TOKEN.findall(text) for _, s in _analyzed(word)]


def folded(text: str) -> list[str]:
    return [f for word in TOKEN.findall(text) for f, _ in _analyzed(word)]


def stem(word: str) -> str:
    """The stem of one word (any case, accents or not); a word that folds into several
    tokens gives them joined by spaces."""
    return " ".join(s for _, s in _analyzed(word))


def is_stop_word(word: str) -> bool:
    """Whether a word, punctuation around it aside ("de,"), is one stop word."""
    tokens = folded(word)
    return len(tokens) == 1 and tokens[0] in STOP_WORDS


def keyword(value: str) -> str:
    """A keyword value (source id, entity id or name, crime type) as both backends store and
    compare it: folded, lowercased, inner whitespace collapsed."""
    return " ".join(fold(value).split())
