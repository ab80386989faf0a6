"""The judgements behind our downloader middlewares: which addresses are private, how long to
back off, what a soft block looks like, which responses count as PDFs."""

from __future__ import annotations

import ipaddress
import time
from email.utils import formatdate

import pytest
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.http.headers import Headers
from scrapy.settings import Settings

from crawlers.middlewares.private_hosts import is_public, literal_address
from crawlers.middlewares.retry import backoff_delay, retry_after
from crawlers.middlewares.size_limit import is_pdf
from crawlers.middlewares.soft_block import is_soft_block, visible_text_length
from tests.faultserver import SOFT_BLOCK, article


@pytest.mark.parametrize("address", [
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "169.254.169.254", "0.0.0.0",
    "100.64.0.1", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
    "::1", "::", "fe80::1", "fc00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
])
def test_private_addresses_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "190.216.184.10", "2800:200::1",
                                     "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_literal_addresses_in_urls() -> None:
    assert literal_address("[::1]") == ipaddress.ip_address("::1")
    assert literal_address("fe80::1%eth0") == ipaddress.ip_address("fe80::1")
    assert literal_address("gob.pe") is None


def test_retry_after_in_seconds_or_as_a_date() -> None:
    def response(value: str) -> Response:
        return Response("http://x/", status=429, headers={"Retry-After": value})

    assert retry_after(response("1")) == 1.0
    assert 55 <= (retry_after(response(formatdate(time.time() + 60, usegmt=True))) or 0) <= 60
    assert retry_after(response(formatdate(time.time() - 60, usegmt=True))) == 0.0
    assert retry_after(response("pronto")) is None
    assert retry_after(Response("http://x/", status=429)) is None


def test_backoff_doubles_with_jitter_and_a_cap() -> None:
    settings = Settings({"PESQUISA_RETRY_BACKOFF": 2.0, "PESQUISA_RETRY_BACKOFF_MAX": 10.0})
    for attempt, low in ((1, 2.0), (2, 4.0), (3, 8.0)):
        waits = [backoff_delay(settings, attempt) for _ in range(50)]
        assert min(waits) >= low and max(waits) <= min(low * 1.25, 10.0)
        assert len(set(waits)) > 1 or low * 1.25 > 10.0  # jitter
    assert backoff_delay(settings, 8) == 10.0
    assert backoff_delay(settings, 1, at_least=7.0) >= 7.0  # Retry-After wins
    assert backoff_delay(settings, 1, at_least=600.0) == 10.0  # ... up to the cap


def html(body: str, content_type: str = "text/html; charset=utf-8") -> TextResponse:
    return HtmlResponse("http://gob.pe/x", body=body.encode(), headers={
        "Content-Type": content_type})


def test_soft_block_is_an_empty_html_page() -> None:
    assert len(SOFT_BLOCK) > 7000 and visible_text_length(SOFT_BLOCK) == 0
    assert is_soft_block(html(SOFT_BLOCK), 80)
    assert is_soft_block(html(""), 80)
    assert not is_soft_block(html(article("Nota", 1)), 80)


def test_soft_block_does_not_misfire() -> None:
    feed = '<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>'
    assert not is_soft_block(html(feed), 80)  # an empty feed labelled text/html
    assert not is_soft_block(XmlResponse("http://x/feed", body=feed.encode()), 80)
    sitemap = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>'
    assert not is_soft_block(html(sitemap), 80)
    assert not is_soft_block(html("{}", "application/json"), 80)
    assert not is_soft_block(Response("http://x/a.pdf", body=b"%PDF-1.4"), 80)
    redirect = HtmlResponse("http://x/", status=302, body=b"", headers={"Location": "/y"})
    assert not is_soft_block(redirect, 80)


def test_pdfs_by_type_or_by_name() -> None:
    assert is_pdf(Headers({"Content-Type": "application/pdf"}), "http://x/doc")
    assert is_pdf(Headers({"Content-Type": "application/octet-stream"}), "http://x/a.PDF?v=1")
    assert not is_pdf(Headers({"Content-Type": "text/html"}), "http://x/a.pdf")


def test_pdfs_get_the_pdf_size_limit_whatever_their_pdf_type() -> None:
    from scrapy.http.headers import Headers

    from crawlers.middlewares.size_limit import is_pdf

    for kind in ("application/pdf", "application/x-pdf", "Application/PDF; charset=binary"):
        assert is_pdf(Headers({"Content-Type": kind}), "https://www.gob.pe/x")
    assert is_pdf(Headers({"Content-Type": "application/octet-stream"}), "https://x.pe/a.PDF?v=2")
    assert not is_pdf(Headers({"Content-Type": "text/html"}), "https://x.pe/a.pdf")
