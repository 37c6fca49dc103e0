"""Downloader middleware of our own, and what keeps a crawl on a closed network.

closed_network(): Scrapy's cookie middleware asks tldextract whether a cookie's domain is a
public suffix, and tldextract downloads the public-suffix list from the internet the first
time it is asked. A bureau's network is closed and the crawler must contact no host it was
not pointed at, so the cookie middleware is given an extractor that reads the list tldextract
ships (its snapshot) and never fetches or caches one. Applied when this module is loaded,
which every crawl does (it is in DOWNLOADER_MIDDLEWARES). tests/test_encoding.py proves with
an audit hook that a crawl setting cookies connects to nothing but the loopback shop.

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
