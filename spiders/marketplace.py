"""Search marketplaces by keyword through their site profiles; follow pagination, detail and shop pages.

    lijian crawl --sandbox http://127.0.0.1:8642 --site a --site c --category cable
    scrapy crawl marketplace -a base_url=http://127.0.0.1:8642 -a sites=a,b,c,d
    scrapy crawl marketplace -a sites=jd -a keywords=电线电缆

`sites` are profile names (spiders/profiles/*.yaml); a, b, c, d are short for the sandbox
flavours sandbox-a … sandbox-d, which need `base_url`. Keywords come from the category table
(watchlists/categories.yaml) unless given. A profile whose render mode is playwright is read
through Chromium (scrapy-playwright); the others are plain HTTP. A block page (captcha, login
wall) is counted by kind and retried, never read as "no results".
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.http import Response
from scrapy_playwright.page import PageMethod

from crawler import sessions as session_store
from crawler.browser import keep_media
from crawler.config import load_config
from crawler.crawlspec import CrawlSpec, check
from crawler.extract.detail import extract_detail
from crawler.extract.rules import Context, first_value
from crawler.extract.search import extract_search
from crawler.files import write_atomic
from crawler.items import ListingItem, SellerProfileItem
from crawler.profiles import Profile


def page_methods(profile: Profile) -> list[PageMethod]:
    """What Chromium does before the page is read: wait for the profile's selector, scroll."""
    render = profile.render
    methods = []
    if render.wait_for:
        methods.append(PageMethod("wait_for_selector", render.wait_for, state="attached", timeout=render.timeout_ms))
    for _ in range(render.scroll):
        methods.append(PageMethod("evaluate", "window.scrollBy(0, document.body.scrollHeight)"))
    return methods


def request_meta(profile: Profile, screenshot: bool = False) -> dict[str, Any]:
    """Scrapy meta for a request to this profile's site: its download slot (per-profile
    concurrency and delay, see politeness_settings), robots.txt and the browser when needed;
    with `screenshot`, the page loads its images and a full-page PNG is taken last."""
    meta: dict[str, Any] = {"profile": profile.name, "download_slot": profile.name}
    if not profile.politeness.obey_robots:
        meta["dont_obey_robotstxt"] = True
    if not profile.politeness.autothrottle:
        meta["autothrottle_dont_adjust_delay"] = True
    if profile.render.mode == "playwright":
        methods = page_methods(profile)
        if screenshot:
            methods.append(PageMethod("screenshot", full_page=True, type="png", timeout=profile.render.timeout_ms))
            meta["playwright_page_init_callback"] = keep_media
        meta.update(playwright=True, playwright_page_methods=methods,
                    playwright_page_goto_kwargs={"timeout": profile.render.timeout_ms})
    return meta


def save_screenshot(response: Response, folder: Path) -> dict[str, str] | None:
    """Store the full-page PNG a PageMethod took, content-addressed; None when there is none."""
    methods = response.meta.get("playwright_page_methods") or []
    png = next((m.result for m in reversed(methods) if m.method == "screenshot" and isinstance(m.result, bytes)), None)
    if not png:
        return None
    digest = hashlib.sha256(png).hexdigest()
    path = folder / f"{digest}.png"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(path, png)  # a reader never sees half a file
    return {"screenshot_sha256": digest, "screenshot_path": str(path)}


def unless_blocked(callback):
    """Run a parse callback only on a real page; a block page (captcha, login wall) or a page
    whose script failed is counted and retried instead, never parsed as an empty result."""

    @functools.wraps(callback)
    def wrapper(self, response: Response):
        blocked, retry = self._retry_if_blocked(response)
        if blocked:
            if retry is not None:
                yield retry
            return
        yield from callback(self, response)

    return wrapper


class MarketplaceSpider(scrapy.Spider):
    name = "marketplace"

    def __init__(self, spec: CrawlSpec | str | None = None, **kwargs: Any) -> None:
        """`spec`: the crawl (crawler/crawlspec.py), or its fields one by one as Scrapy spider
        arguments (`scrapy crawl marketplace -a sites=a,b -a base_url=http://127.0.0.1:8642`)."""
        fields = {name: kwargs.pop(name) for name in list(kwargs) if name in CrawlSpec.model_fields}
        self.spec = CrawlSpec.of(spec, **fields)
        super().__init__(**kwargs)
        checked = check(self.spec)
        # Full-page screenshots of detail pages rendered in Chromium, for the evidence stage.
        self.screenshot_dir = Path(self.spec.screenshot_dir) if self.spec.screenshot_dir else None
        self.profiles = {p.name: p for p in checked.profiles}
        self.base_url = (self.spec.base_url or "").rstrip("/")
        taxonomy = checked.taxonomy
        self.category_by_label = {c.zh: c.slug for c in taxonomy.values()}
        if self.spec.keywords:
            self.searches = [(w, None) for w in self.spec.keywords]
        else:
            wanted = self.spec.categories or tuple(taxonomy)
            self.searches = [(w, slug) for slug in wanted for w in taxonomy[slug].keywords]
        self.max_pages = self.spec.max_pages
        # The profiles with a signed-in session imported (crawler/sessions.py): their login wall
        # means the session expired.
        folder = load_config().sessions_dir
        self.sessions = {name for name in self.profiles if session_store.load(folder, name)}
        self.shops_requested: set[str] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for profile in self.profiles.values():
            for keyword, category in self.searches:
                url = profile.search_url(keyword, 1, base=self.base_url)
                yield self._request(profile, url, self.parse_search,
                                    {"keyword": keyword, "category": category, "page": 1})

    def _request(self, profile: Profile, url: str, callback, meta: dict[str, Any],
                 screenshot: bool = False) -> scrapy.Request:
        # A profile's signed-in session is added at download time (crawler/middlewares.py), so
        # its cookies are never part of a request queued in Redis.
        return scrapy.Request(url, callback=callback, meta={**meta, **request_meta(profile, screenshot=screenshot)})

    def _profile(self, response: Response) -> Profile:
        return self.profiles[response.meta["profile"]]

    def _retry_if_blocked(self, response: Response) -> tuple[bool, scrapy.Request | None]:
        """(blocked, retry): a block page or a failed script is counted and retried, never parsed."""
        if not hasattr(response, "text"):
            return False, None
        profile = self._profile(response)
        kind = profile.is_blocked(response.url, response.text[:20000], response)
        if kind is None:
            return False, None
        stats = self.crawler.stats
        if kind == "login" and profile.name in self.sessions:
            stats.inc_value(f"lijian/profile/{profile.name}/session_expired")
            self.logger.warning("%s: the login wall came back although a session was imported: session expired "
                                "(lijian session import %s FILE)", profile.name, profile.name)
        stats.inc_value("lijian/blocked")
        stats.inc_value(f"lijian/blocked/{kind}")
        stats.inc_value(f"lijian/profile/{profile.name}/blocked")
        retry = get_retry_request(response.request, spider=self, reason=f"blocked:{kind}")
        if retry is None:
            self.logger.error("gave up on %s: still a %s page after retries", response.url, kind)
        return True, retry

    def _count(self, profile: Profile, key: str, value: int = 1) -> None:
        self.crawler.stats.inc_value(f"lijian/profile/{profile.name}/{key}", value)

    @unless_blocked
    def parse_search(self, response: Response) -> Iterator[scrapy.Request]:
        profile = self._profile(response)
        page = extract_search(response, response.url, profile, response.text)
        self.crawler.stats.inc_value(f"lijian/search_pages/{profile.name}")
        self._count(profile, "search_pages")
        self._count(profile, "results", len(page.results))
        if not page.results and not page.no_results:
            # Neither results nor the site's "nothing found": the layout may have changed.
            self._count(profile, "empty_search_pages")
            self.logger.warning("no result cards on %s (and no 'nothing found' notice)", response.url)
        for result in page.results:
            yield self._request(profile, result["url"], self.parse_detail, {"category": response.meta.get("category")},
                                screenshot=self.screenshot_dir is not None)
        limit = self.max_pages or (profile.search.max_pages if profile.search else 1)
        if page.next_url and response.meta["page"] < limit:
            meta = {k: response.meta[k] for k in ("keyword", "category")}
            yield self._request(profile, page.next_url, self.parse_search, {**meta, "page": response.meta["page"] + 1})

    @unless_blocked
    def parse_shop(self, response: Response) -> Iterator[SellerProfileItem]:
        profile = self._profile(response)
        if profile.shop is None:
            return
        ctx = Context(response, None, response.url)
        fields = {name: first_value(rules, ctx)[0] for name, rules in profile.shop_rules.items()}
        if fields.get("seller_key"):
            yield SellerProfileItem(marketplace=profile.name, url=response.url,
                                    **{k: fields.get(k) for k in ("seller_key", "name", "phone", "location")})

    @unless_blocked
    def parse_detail(self, response: Response) -> Iterator[ListingItem | SellerProfileItem | scrapy.Request]:
        profile = self._profile(response)
        fields = extract_detail(response, response.url, profile, response.text)
        self._count(profile, "detail_pages")
        label = (fields.get("category_label") or "").strip()
        specs = fields.get("specs") or {}
        shop_url = response.urljoin(fields["seller_url"]) if fields.get("seller_url") else None
        if shop_url and profile.shop is not None and shop_url not in self.shops_requested:
            # Once per shop: its contact details, for seller networks. Asked for once by this
            # process (most listings name a shop already asked for), and Scrapy's duplicate
            # filter (shared by the workers of a Redis frontier) keeps it once across processes.
            # Shop pages are read without the browser: their contact block is server-rendered.
            self.shops_requested.add(shop_url)
            meta = {k: v for k, v in request_meta(profile).items() if not k.startswith("playwright")}
            yield scrapy.Request(shop_url, callback=self.parse_shop, meta=meta)
        listing_key = fields.get("listing_key") or first_value(profile.item_id_rules,
                                                                Context(None, None, response.url))[0]
        raw = {k: v for k, v in fields.items()
               if k not in ("specs", "sources", "images", "certificates") and v not in (None, "", [])}
        if "price" in raw:
            raw["price_text"] = raw.pop("price")
        if self.screenshot_dir is not None:
            raw.update(save_screenshot(response, self.screenshot_dir) or {})
        yield ListingItem(
            marketplace=profile.name,
            listing_key=str(listing_key or ""),
            url=response.url,
            title=fields.get("title") or "",
            price_text=fields.get("price"),
            currency=fields.get("currency"),
            category=(profile.category_of(label) or self.category_by_label.get(label)
                      or response.meta.get("category")),
            brand=fields.get("brand") or specs.get("品牌"),
            seller_key=fields.get("seller_key"),
            seller_name=fields.get("seller_name"),
            seller_url=fields.get("seller_url"),
            seller_location=fields.get("seller_location"),
            specs=specs,
            raw={"category_label": label, **raw},
        )
