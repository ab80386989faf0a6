"""Canonical URLs and the stable ids derived from them, computed in one place for every backend."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only track a click and never change the page.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "igshid", "mc_cid", "mc_eid", "yclid", "_ga", "ref",
     "ref_src", "outputtype", "cmpid", "ito", "ncid"}
)
TRACKING_PREFIXES = ("utm_",)
DEFAULT_PORTS = {"http": 80, "https": 443}
# AMP variants of a page: `?amp=1` (`?outputType=amp` is dropped as tracking above), an
# `amp.` host, a whole `/amp` path segment first or last, a `.amp` / `.amp.html` suffix.
AMP_VALUES = frozenset({"", "1", "true"})
_AMP_SUFFIX = re.compile(r"(?<=[^/.])\.amp(?=(\.html?)?$)", re.I)


def _keep(key: str) -> bool:
    return key.lower() not in TRACKING_PARAMS and not key.lower().startswith(TRACKING_PREFIXES)


def _not_amp(key: str, value: str) -> bool:
    return not (key.lower() == "amp" and value.lower() in AMP_VALUES)


def _amp_host(host: str) -> str:
    """`amp.elcomercio.pe` -> `elcomercio.pe`; a two-label host such as `amp.pe` stays."""
    labels = host.split(".")
    if len(labels) >= 3 and labels[0] == "amp" and not host.replace(".", "").isdigit():
        return ".".join(labels[1:])
    return host


def _amp_path(path: str) -> str:
    """Drop a whole `amp` segment at the start or end and a `.amp` suffix, never a word
    that merely contains "amp" (`/campana`, `/amparo`), nor a path that is only `/amp`."""
    segments = [part for part in path.split("/") if part]
    if len(segments) > 1 and segments[-1].lower() == "amp":
        segments.pop()
    if len(segments) > 1 and segments[0].lower() == "amp":
        segments.pop(0)
    if segments:
        segments[-1] = _AMP_SUFFIX.sub("", segments[-1])
    return "/" + "/".join(segments)


def strip_tracking(url: str) -> str:
    """The URL as published, minus tracking parameters and fragment: a clean link to show."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if _keep(k)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def canonical_url(url: str) -> str:
    """Normalize a URL so that the same page always gets the same id.

    Lowercases scheme and host, drops default ports, fragments, tracking parameters, AMP
    markers and the trailing slash of the path; sorts the remaining query parameters.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = _amp_host((parts.hostname or "").lower())
    port = parts.port
    netloc = host if port is None or DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1:
        path = _amp_path(path.rstrip("/"))
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if _keep(k) and _not_amp(k, v)
    ]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def document_id(url: str) -> str:
    """The document id: sha256 of the canonical URL, the same in the store and every index."""
    return hashlib.sha256(canonical_url(url).encode("utf-8")).hexdigest()


def content_hash(text: str) -> str:
    """Hash of the extracted text, whitespace-normalized, to notice changed pages."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def fold(text: str) -> str:
    """Lowercase and strip accents: 'Corrupción' -> 'corrupcion'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def entity_id(label: str, name: str) -> str:
    """A readable, stable entity id from its label and accent-folded name: 'per:dina-boluarte'."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")
    return f"{label.lower()}:{slug}"
