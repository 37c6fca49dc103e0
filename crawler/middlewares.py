"""Downloader middleware of our own, and what keeps a crawl on a closed network.

closed_network(): Scrapy's cookie middleware asks tldextract whether a cookie's domain is a
public suffix, and tldextract downloads the public-suffix list from the internet the first
time it is asked. A bureau's network is closed and the crawler must contact no host it was
not pointed at, so the cookie middleware is given an extractor that reads the list tldextract
ships (its snapshot) and never fetches or caches one. Applied when this module is loaded,
which every crawl does (it is in DOWNLOADER_MIDDLEWARES). tests/test_encoding.py proves with
an audit hook that a crawl setting cookies connects to nothing but the loopback shop.

SessionMiddleware: a profile's signed-in session (lijian session import) is added to its
requests as they are downloaded — cookies for Scrapy's own download, a browser context holding
them for a Playwright one — and nowhere else: not on the request objects a spider makes, so no
session is queued in Redis, written to a log or given to an evidence capture.

EncodingMiddleware: Scrapy takes a page's declared charset at its word; this checks it against
the bytes (crawler/extract/encoding.py) and re-reads the page in the encoding the bytes are in
when the two disagree, counting each correction (`lijian/encoding_corrected`), so a GBK shop
without a charset, or a UTF-8 one still declaring gbk, is not stored as mojibake.
"""

from __future__ import annotations

import logging

from scrapy.http import Request, Response, TextResponse

from crawler.extract.encoding import same_encoding, sniff

logger = logging.getLogger(__name__)


def closed_network() -> None:
    import scrapy.downloadermiddlewares.cookies as cookies
    from tldextract import TLDExtract

    cookies._split_domain = TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True,
                                       include_psl_private_domains=True)


closed_network()


class EncodingMiddleware:
    def __init__(self, stats) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_response(self, request: Request, response: Response, spider=None) -> Response:
        if not isinstance(response, TextResponse) or not response.body:
            return response
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        encoding, why = sniff(response.body, content_type)
        if same_encoding(encoding, response.encoding):
            return response
        self.stats.inc_value("lijian/encoding_corrected")
        logger.info("%s: read as %s, not %s (%s)", response.url, encoding, response.encoding, why)
        return response.replace(encoding=encoding)


class SessionMiddleware:
    def __init__(self, folder) -> None:
        self.folder = folder
        self.cookies: dict[str, list | None] = {}

    @classmethod
    def from_crawler(cls, crawler):
        from crawler.config import load_config

        return cls(load_config().sessions_dir)

    def _session(self, profile: str) -> list | None:
        if profile not in self.cookies:
            from crawler.sessions import load

            self.cookies[profile] = load(self.folder, profile)
        return self.cookies[profile]

    def process_request(self, request: Request, spider=None):
        profile = request.meta.get("profile")
        cookies = self._session(profile) if profile and not request.meta.get("dont_merge_cookies") else None
        if not cookies:
            return None
        if request.meta.get("playwright"):
            request.meta["playwright_context"] = f"session-{profile}"
            request.meta["playwright_context_kwargs"] = {"storage_state": {"cookies": [
                {"name": c["name"], "value": c["value"], "domain": c["domain"], "path": c.get("path", "/"),
                 "expires": c.get("expires", -1), "httpOnly": c.get("httpOnly", False),
                 "secure": c.get("secure", False), "sameSite": "Lax"} for c in cookies], "origins": []}}
        else:
            request.cookies = [{k: c[k] for k in ("name", "value", "domain", "path")} for c in cookies]
        return None
