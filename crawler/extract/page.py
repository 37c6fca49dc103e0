"""One input page → output records: the page type decided, the profile chosen, fields extracted.

This is what `lijian extract` prints; the spiders call the same `extract_search` and
`extract_detail` on live responses.
"""

from __future__ import annotations

from typing import Any

from parsel import Selector

from crawler.extract.archive import InputPage
from crawler.extract.detail import extract_detail
from crawler.extract.search import extract_search
from crawler.profiles import Profile, profile_for_url


def extract_page(page: InputPage, profiles: dict[str, Profile], url: str | None = None,
                 profile_name: str | None = None, page_type: str = "auto") -> list[dict[str, Any]]:
    address = url or page.url or ""
    profile = profiles[profile_name] if profile_name else profile_for_url(profiles, address)
    selector = Selector(text=page.html, type="html")
    common = {"url": address or None, "source": page.source, "encoding": page.encoding,
              "profile": profile.name if profile else None}
    if page.archived_url:
        common["archived_url"] = page.archived_url
    if page_type in ("auto", "search") and profile is not None and profile.search is not None:
        found = extract_search(selector, address, profile, page.html)
        if found.blocked:
            return [{**common, "page_type": "blocked", "blocked": found.blocked}]
        if found.results:
            return [{**common, "page_url": address or None, **result, "page_type": "search_result"}
                    for result in found.results]
        if found.no_results and (page_type == "search" or profile.is_search_url(address)):
            return [{**common, "page_type": "search_no_results"}]
        if page_type == "search":
            # Neither result cards nor the site's "nothing found": the layout has probably changed.
            return [{**common, "page_type": "search_unrecognised"}]
    if profile is not None:
        kind = profile.is_blocked(address, page.html[:20000], selector)
        if kind is not None:  # a login wall or a captcha is no product (the search path says so too)
            return [{**common, "page_type": "blocked", "blocked": kind}]
    fields = extract_detail(selector, address, profile, page.html)
    return [{**common, "page_type": "product", **fields}]
