"""The fields each spider kind reads from its source file (listing, bulletin, api), validated.

A source file's kind-specific fields land in `Source.model_extra`; the models here give them
types, defaults and one clear E203 line when one is wrong (a typo, a selector that does not
parse, a page number that is not a number). Feed and sitemap sources take no extra fields of
their own yet, so theirs are left alone.
"""

from __future__ import annotations

from string import Formatter
from typing import Annotated, Any

from cssselect import SelectorError
from lxml import etree
from parsel.csstranslator import css2xpath
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from pesquisa.errors import FixInput

XPATH_PREFIX = "xpath:"


def _check_selector(selector: str) -> str:
    """A CSS selector (Scrapy's ::text and ::attr(name) allowed) or `xpath:` and an XPath."""
    selector = selector.strip()
    if not selector:
        raise ValueError("empty selector")
    try:
        if selector.startswith(XPATH_PREFIX):
            etree.XPath(selector[len(XPATH_PREFIX):].strip())
        else:
            css2xpath(selector)
    except (SelectorError, etree.XPathSyntaxError) as exc:
        raise ValueError(f"bad selector {selector!r} ({exc})") from None
    return selector


Selector = Annotated[str, AfterValidator(_check_selector)]
DotPath = Annotated[str, Field(pattern=r"^[A-Za-z0-9_@$-]+(\.[A-Za-z0-9_@$-]+)*$")]


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArticleSelectors(_Fields):
    """Selectors on an article page, for what trafilatura misses or gets wrong there."""

    title: Selector | None = None
    date: Selector | None = None
    body: Selector | None = None  # used only when trafilatura finds no article text


class PagedFields(_Fields):
    """An HTML index of cards, paged by a `next` link or by a page number in the query."""

    items: Selector | None = None  # each card; None: the whole page is one card
    title: Selector | None = None  # within a card
    date: Selector | None = None  # within a card: ISO, a visible Spanish date, or date_format
    date_format: str | None = None  # strptime format of a card or article date
    next_page: Selector | None = None
    page_param: str | None = None  # a query parameter holding the page number (gob.pe: sheet)
    first_page: int = 1
    page_step: int = Field(1, ge=1)  # El Peruano's `start` moves by 20 per page
    max_pages: int = Field(5, ge=1)
    since_max_pages: int = Field(200, ge=1)  # how far --since may page back
    lookback_days: int = Field(7, ge=0)  # {since} in URLs when no --since is given
    # A first page without cards is normal, not a broken selector (El Peruano's EX search
    # on a day without an extraordinary edition).
    may_be_empty: bool = False

    @model_validator(mode="after")
    def _one_paging(self) -> PagedFields:
        if self.next_page and self.page_param:
            raise ValueError("next_page and page_param exclude each other: choose one")
        return self


class ListingFields(PagedFields):
    items: Selector  # required for a listing
    link: Selector  # within a card: the article's link
    article: ArticleSelectors | None = None


class BulletinFields(PagedFields):
    pdf_links: Selector = "a[href$='.pdf'], a[href$='.PDF']"
    detail: Selector | None = None  # within a card: a page that holds the PDF links


class ApiPaging(_Fields):
    param: str | None = "page"  # query parameter; None: the URL has a {page} placeholder
    start: int = 1
    step: int = Field(1, ge=1)
    size_param: str | None = None
    size: int | None = Field(None, ge=1)  # a page with fewer items is the last one
    pages_path: DotPath | None = None  # dot path to the number of pages in the answer
    max_pages: int = Field(5, ge=1)
    since_max_pages: int = Field(200, ge=1)


class ApiItemFields(_Fields):
    """Dot paths into each result (`_source.numero_expediente`, `items.0.url`)."""

    url: DotPath
    title: DotPath | None = None
    published: DotPath | None = None
    text: DotPath | None = None
    pdf: DotPath | None = None
    author: DotPath | None = None
    section: DotPath | None = None


class ApiFields(_Fields):
    items_path: DotPath | None = None  # None: the answer itself is the list of results
    fields: ApiItemFields
    paging: ApiPaging = ApiPaging()
    extra_fields: dict[str, DotPath] = {}  # copied to the document's `extra`
    title_format: str | None = None  # e.g. "Sentencia {expediente}", from fields and extras
    date_format: str | None = None
    min_text_chars: int = Field(200, ge=0)  # shorter JSON text: follow `pdf` or `url` instead
    lookback_days: int = Field(7, ge=0)

    @model_validator(mode="after")
    def _title_names_known_fields(self) -> ApiFields:
        if self.title_format:
            known = set(ApiItemFields.model_fields) | set(self.extra_fields)
            try:
                names = {name for _, name, _, _ in Formatter().parse(self.title_format) if name}
            except ValueError as exc:
                raise ValueError(f"title_format: {exc}") from None
            unknown = sorted(names - known)
            if unknown:
                raise ValueError(f"title_format names unknown fields: {', '.join(unknown)}")
        return self


KIND_FIELDS: dict[str, type[_Fields]] = {
    "listing": ListingFields,
    "bulletin": BulletinFields,
    "api": ApiFields,
}


def validate_kind_fields(kind: str, extra: dict[str, Any] | None, path: Any) -> Any:
    """The kind's fields as a model; FixInput E203 naming the first bad field."""
    model = KIND_FIELDS.get(kind)
    if model is None:
        return None
    try:
        return model.model_validate(extra or {})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or kind
        reason = error["msg"].removeprefix("Value error, ")
        raise FixInput("E203", path=path, field=field, reason=reason) from None
