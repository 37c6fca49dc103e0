"""Search-result pages: one record per organic or sponsored result card, by a site profile.

Cards are found by the profile's `search.cards` rules (the first alternative that finds any
wins); a card matching an `exclude` rule (recommendation widgets and the like) is dropped and
counted; a card without a title or a link is counted as incomplete. Links are resolved
against the page's original URL and unwrapped from web-archive addresses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from parsel import Selector

from crawler.extract.archive import original_url
from crawler.extract.rules import Context, embedded_json, first_value, select_nodes
from crawler.extract.state import state_cards
from crawler.profiles import JsonSource, Profile


@dataclass
class SearchPage:
    url: str
    profile: str
    results: list[dict[str, Any]] = field(default_factory=list)
    next_url: str | None = None
    blocked: str | None = None  # kind of block page, when it is one
    no_results: bool = False  # the page says, by the profile's signature, that nothing matched
    excluded: int = 0  # cards dropped by an exclude rule
    incomplete: int = 0  # cards without a title or a link


def page_json(selector: Selector, source: JsonSource | None) -> Any:
    """The embedded JSON a profile's json: rules read (JSON-LD object of a type, or a variable)."""
    if source is None:
        return None
    if source.variable:
        return embedded_json(selector, source.variable)
    for block in selector.css('script[type="application/ld+json"]::text').getall():
        try:
            data = json.loads(block)
        except ValueError:
            continue
        for obj in data if isinstance(data, list) else data.get("@graph", [data]) if isinstance(data, dict) else []:
            if isinstance(obj, dict) and source.ld_type in ([obj.get("@type")] if isinstance(obj.get("@type"), str)
                                                            else obj.get("@type") or []):
                return obj
    return None


def link(page_url: str, href: str | None) -> str | None:
    if not href or href.startswith(("javascript:", "#", "mailto:")):
        return None
    return original_url(urljoin(page_url, href.strip()))


def extract_search(selector: Selector, url: str, profile: Profile, html: str | None = None) -> SearchPage:
    """The result cards of a search page by the profile's rules; when they find none, the
    product list of the page's embedded state, found by its shape (crawler/extract/state.py),
    so a redesign that moves the results into a script does not zero a marketplace."""
    page = SearchPage(url=url, profile=profile.name)
    page.blocked = profile.is_blocked(url, selector.xpath("string(//body)").get("")[:20000], selector)
    if page.blocked or profile.search is None:
        return page
    rules = profile.search
    root = Context(selector, page_json(selector, rules.embedded), url)
    compiled = profile.search_rules
    cards: list[Context] = []
    for rule in compiled["cards"]:
        cards = select_nodes(rule, root)
        if cards:
            break
    excludes = compiled["exclude"]
    for card in cards:
        if any(first_value([rule], card)[0] for rule in excludes):
            page.excluded += 1
            continue
        values = {name: first_value(card_rules, card)[0] for name, card_rules in profile.card_rules.items()}
        values["url"] = link(url, values.get("url"))
        if not values.get("title") or not values["url"]:
            page.incomplete += 1
            continue
        for key in ("seller_url", "image"):
            if values.get(key):
                values[key] = link(url, values[key])
        if values.get("item_id") is None and profile.item_id_rules:
            values["item_id"] = first_value(profile.item_id_rules, Context(None, None, values["url"]))[0]
        if "sponsored" in values:
            values["sponsored"] = bool(values["sponsored"])
        page.results.append({"rank": len(page.results) + 1, **values})
    next_href, _ = first_value(compiled["next_page"], root)
    page.next_url = link(url, next_href)
    if not page.results:
        page.no_results = any(first_value([rule], root)[0] for rule in compiled["no_results"])
    if not page.results and not page.no_results:
        for card in state_cards(html if html is not None else selector.get()):
            page.results.append({"rank": len(page.results) + 1, **card, "url": profile.listing_url(card["item_id"]),
                                 "from_state": True})
    return page
