"""Detail (product) pages read by a site profile, with the generic extractor filling the gaps.

`extract_detail` is what the spiders store and what `lijian extract` prints for a product
page: the profile's field rules first (they know the site), then, field by field, the
generic extractor (structured data and page heuristics) when the profile allows it.
"""

from __future__ import annotations

from typing import Any

from parsel import Selector

from crawler.extract.product import extract_product
from crawler.extract.rules import Context, compile_rule, first_value, node_text, select_nodes
from crawler.extract.search import link, page_json
from crawler.extract.state import state_product
from crawler.extract.visible import availability_name
from crawler.normalise import price_value, split_location
from crawler.profiles import Profile, SpecRules

# Generic-extractor fields a profile field falls back to (same meaning, same name).
_GENERIC = ("title", "price", "promo_price", "currency", "brand", "sku", "mpn", "gtin", "availability", "seller_name",
            "seller_url", "seller_location", "category_label")


def read_specs(rules: SpecRules, root: Context) -> dict[str, str]:
    specs: dict[str, str] = {}
    for rule in (compile_rule(r) for r in rules.rows):
        rows = select_nodes(rule, root)
        if not rows:
            continue
        for row in rows:
            if rules.split:
                text = node_text(row.node) if row.node is not None else str(row.data or "")
                key, sep, value = text.partition(rules.split)
            else:
                key = first_value([compile_rule(r) for r in rules.key or []], row)[0] or ""
                value = first_value([compile_rule(r) for r in rules.value or []], row)[0] or ""
                sep = "="
            if sep and key.strip():
                specs[key.strip()] = value.strip()
        break
    return specs


def _normalise(found: dict[str, Any]) -> None:
    """One form for every extraction path (profile rules and the generic reading alike): the
    price a decimal or a low-high range with its ISO currency, availability a schema.org name.
    What the page showed, when it differs, is kept as price_shown / availability_shown."""
    shown = found.get("price")
    if shown:
        price, currency = price_value(shown)
        if price is None:
            found.pop("price")
        elif price != str(shown):
            found["price"] = price
        if price != str(shown):
            found["price_shown"] = str(shown)
        if currency and not found.get("currency"):
            found["currency"] = currency
    stated = found.get("availability")
    if stated:
        name = availability_name(stated)
        if name != stated:
            found["availability_shown"] = str(stated)
            found["availability"] = name
            if name is None:
                found.pop("availability")


def extract_detail(selector: Selector, url: str, profile: Profile | None, html: str | None = None) -> dict[str, Any]:
    """Fields of one product page: profile rules, then generic extraction; `sources` says which."""
    found: dict[str, Any] = {}
    sources: dict[str, str] = {}
    specs: dict[str, str] = {}
    if profile is not None:
        root = Context(selector, page_json(selector, profile.detail.embedded), url)
        for name, rules in profile.detail_rules.items():
            value, rule = first_value(rules, root)
            if value:
                found[name], sources[name] = value, f"profile {profile.name}: {rule}"
        if profile.detail.specs:
            specs = read_specs(profile.detail.specs, root)
        if not found.get("listing_key") and profile.item_id_rules:
            found["listing_key"] = first_value(profile.item_id_rules, root)[0]
    if profile is None or profile.detail.generic_fallback:
        generic = extract_product(html if html is not None else selector.get(), url)
        for name in _GENERIC:
            value = getattr(generic, name, None)
            if value not in (None, "", []) and not found.get(name):
                found[name] = str(value) if name in ("price", "promo_price") else value
                sources[name] = "generic: " + generic.sources.get(name, "page")
        specs = specs or generic.specs
        found.setdefault("images", generic.images)
        found["certificates"] = generic.certificates
        found["price_elements"] = generic.price_elements
    if html is not None and profile is not None and not (found.get("title") and found.get("price")):
        # A marketplace page (or detail API response) whose product is only in its embedded
        # state. Not for shops read without a profile: there a page without a price is no
        # product page, and parsing every script of every such page would be wasted.
        for name, value in state_product(html).items():
            if not found.get(name):
                found[name], sources[name] = value, "embedded state"
    _normalise(found)
    for key in ("seller_url", "image"):
        if found.get(key):
            found[key] = link(url, found[key])
    if found.get("seller_location"):
        found["seller_province"], found["seller_city"] = split_location(found["seller_location"])
    found["specs"] = specs
    found["sources"] = sources
    return found
