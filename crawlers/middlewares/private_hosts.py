"""Refuse requests to private, loopback, link-local, multicast, reserved or unspecified
addresses (IPv4 and IPv6, IPv4-mapped too): a feed link or a redirect must never make the
crawler reach a router, a cloud metadata service (169.254.169.254) or a service on the host.

A host that the source itself names (in its URLs or allowed_domains) is trusted, as a test
fixture on 127.0.0.1 is. Every refusal is a failure with its reason, never a silent skip.

Checked twice: when a request is scheduled (literal addresses and hosts already resolved,
so that a link to another host is refused before the offsite filter drops it unseen), and
before it is downloaded, resolving the host name in a thread (cached per host), so that
redirect hops and robots.txt requests are covered too. Limitation: the downloader resolves
the name again to connect, so a DNS answer that changes in between (rebinding) is not caught.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.utils.asyncio import run_in_thread
from scrapy.utils.httpobj import urlparse_cached

from crawlers.middlewares.refused import Refused

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.spiders import Spider

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global is False for private, loopback, link-local, shared (100.64/10), reserved,
    # unspecified and documentation ranges; multicast is checked on its own (239.x is global).
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _resolve(host: str) -> list[IPAddress]:
    """Every address a host name resolves to; none when it does not resolve (the download
    then fails on its own, and that failure is recorded)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    found = [literal_address(str(info[4][0])) for info in infos]
    return [ip for ip in found if ip is not None]


class PrivateHostGuard:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.verdicts: dict[str, str | None] = {}  # host -> reason to refuse, or None: public

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateHostGuard:
        guard = cls(crawler)
        crawler.signals.connect(guard.request_scheduled, signal=signals.request_scheduled)
        return guard

    def _trusted(self) -> set[str]:
        source = getattr(self.crawler.spider, "source", None)
        return {host.lower() for host in getattr(source, "hosts", ())}

    def _known_verdict(self, host: str) -> tuple[bool, str | None]:
        """(known, reason): known is False when the host name still needs resolving."""
        if not host or host in self._trusted():
            return True, None
        ip = literal_address(host)
        if ip is not None:
            return True, None if is_public(ip) else f"private address refused: {ip}"
        if host in self.verdicts:
            return True, self.verdicts[host]
        return False, None

    def request_scheduled(self, request: Request, spider: Spider) -> None:
        host = (urlparse_cached(request).hostname or "").lower()
        known, reason = self._known_verdict(host)
        if known and reason:
            note_failure = getattr(spider, "note_failure", None)
            if note_failure is not None:  # dropped here, the request's errback never runs
                note_failure(reason, request.url)
            raise IgnoreRequest(reason)

    async def process_request(self, request: Request) -> None:
        host = (urlparse_cached(request).hostname or "").lower()
        known, reason = self._known_verdict(host)
        if not known:
            addresses = await run_in_thread(_resolve, host)
            private = [ip for ip in addresses if not is_public(ip)]
            reason = None
            if private:
                reason = f"private address refused: {host} resolves to {private[0]}"
            self.verdicts[host] = reason
        if reason:
            raise Refused(reason)
