"""The sections of a site profile (search, catalogue, detail, shop, render, politeness,
blocked), each a strict pydantic model whose rules are compiled when the profile loads; the
Profile itself is in crawler/profiles/__init__.py."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crawler.extract.rules import Rule, RuleError, compile_rule

# Fields a profile may extract; the spider and `lijian extract` know what each means.
CARD_FIELDS = ("title", "subtitle", "promo", "url", "price", "currency", "seller_name", "seller_url", "seller_location",
               "image", "item_id", "sponsored")
DETAIL_FIELDS = ("title", "price", "currency", "brand", "sku", "mpn", "gtin", "availability", "listing_key",
                 "seller_name", "seller_key", "seller_url", "seller_location", "category_label", "image")
SHOP_FIELDS = ("seller_key", "name", "phone", "location")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _compile_all(rules: list[str]) -> list[Rule]:
    return [compile_rule(r) for r in rules]


def _check_rules(value: list[str] | str) -> list[str]:
    rules = [value] if isinstance(value, str) else list(value)
    for rule in rules:
        try:
            compile_rule(rule)
        except RuleError as exc:
            raise ValueError(str(exc)) from None
    return rules


RuleList = list[str]


def _rules_validator(*names: str):
    """A pydantic validator checking that each named field is a list of valid rules (a single
    string counts as a list of one; None or missing means none)."""

    def check(cls, value):
        return [] if value is None else _check_rules(value)

    return field_validator(*names, mode="before")(check)


def _field_map(value: dict[str, list[str] | str], allowed: tuple[str, ...]) -> dict[str, list[str]]:
    unknown = [k for k in value if k not in allowed]
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}; known: {', '.join(allowed)}")
    checked = {}
    for key, rules in value.items():
        try:
            checked[key] = _check_rules(rules)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None
    empty = [k for k, rules in checked.items() if not rules]
    if empty:
        raise ValueError(f"field {empty[0]!r} needs at least one rule")
    return checked


class JsonSource(_Strict):
    """Where a page's embedded JSON is: a schema.org object in JSON-LD, or a script variable."""

    ld_type: str | None = Field(None, description="schema.org @type to take from JSON-LD blocks, e.g. Product")
    variable: str | None = Field(None, description="script variable holding JSON, e.g. window.__INITIAL_STATE__")

    @model_validator(mode="after")
    def _one(self) -> JsonSource:
        if bool(self.ld_type) == bool(self.variable):
            raise ValueError("give exactly one of ld_type or variable")
        return self


class SpecRules(_Strict):
    """Key-value specification rows: each row's key and value, or one text split at `split`."""

    rows: RuleList = Field(min_length=1, description="rules selecting one node (or JSON element) per row")
    key: RuleList | None = Field(None, description="rule for the key within a row")
    value: RuleList | None = Field(None, description="rule for the value within a row")
    split: str | None = Field(None, description="split the row's text at this separator instead (e.g. '：')")

    _v_rules = _rules_validator("rows", "key", "value")

    @model_validator(mode="after")
    def _shape(self) -> SpecRules:
        if not self.split and not (self.key and self.value):
            raise ValueError("give key and value rules, or split")
        return self


class SearchRules(_Strict):
    url: str = Field(description="URL template with {keyword} and {page}; {base} for a site whose address is "
                                 "given at crawl time (the sandbox, a shop on any host: --base-url)")
    keyword_encoding: str = Field("utf-8", description="encoding of the keyword in the URL (e.g. gbk)")
    first_page: int = Field(1, ge=0, description="value of {page} on the first results page")
    page_step: int = Field(1, ge=1, description="increment of {page} per results page (JD: 2)")
    max_pages: int = Field(5, ge=1, le=500, description="default limit of result pages per keyword")
    embedded: JsonSource | None = Field(None, description="embedded JSON the json: rules read")
    cards: RuleList = Field(min_length=1, description="rules selecting one node (or JSON element) per result card")
    fields: dict[str, RuleList] = Field(description=f"card fields: {', '.join(CARD_FIELDS)}")
    exclude: RuleList = Field(default_factory=list, description="a card where any of these yields a value "
                                                                "is not a result (recommendation widgets)")
    next_page: RuleList = Field(default_factory=list, description="rules for the next page's link")
    no_results: RuleList = Field(default_factory=list, description="signature of a genuine 'nothing found' page")

    _v_rules = _rules_validator("cards", "exclude", "next_page", "no_results")

    @field_validator("fields", mode="before")
    @classmethod
    def _fields(cls, value: dict) -> dict:
        fields = _field_map(value or {}, CARD_FIELDS)
        missing = [f for f in ("title", "url") if f not in fields]
        if missing:
            raise ValueError(f"missing card field {missing[0]!r}")
        return fields

    @field_validator("url")
    @classmethod
    def _template(cls, value: str) -> str:
        if "{keyword}" not in value:
            raise ValueError("search URL template must contain {keyword}")
        return value

    @field_validator("keyword_encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        try:
            "测试".encode(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None
        return value


class CatalogueRules(_Strict):
    start_urls: list[str] = Field(default_factory=list, description="list pages to start from: the catalogue, "
                                  "category pages, a shop front; {base} for the address given at crawl time")
    sitemaps: list[str] = Field(default_factory=list, description="sitemaps (or sitemap indexes) listing the "
                                "product pages; {base} as above")
    product_links: RuleList = Field(default_factory=list, description="rules selecting the links to product "
                                    "pages on a list page (each match is one link); none: every link on the site")
    next_page: RuleList = Field(default_factory=list, description="rules for the next list page's link "
                                "(pagination is followed at the same depth)")
    max_pages: int = Field(500, ge=1, le=100_000, description="pages to fetch in all (--max-pages overrides)")

    _v_rules = _rules_validator("product_links", "next_page")

    @model_validator(mode="after")
    def _somewhere(self) -> CatalogueRules:
        if not (self.start_urls or self.sitemaps):
            raise ValueError("give start_urls or sitemaps (or both)")
        for url in (*self.start_urls, *self.sitemaps):
            if not url.startswith(("http://", "https://", "{base}")):
                raise ValueError(f"{url!r} must start with http://, https:// or {{base}}")
        return self


class DetailRules(_Strict):
    embedded: JsonSource | None = Field(None, description="embedded JSON the json: rules read")
    fields: dict[str, RuleList] = Field(default_factory=dict, description=f"fields: {', '.join(DETAIL_FIELDS)}")
    specs: SpecRules | None = Field(None, description="specification table rules")
    generic_fallback: bool = Field(True, description="fill fields the rules miss with the generic extractor")

    @field_validator("fields", mode="before")
    @classmethod
    def _fields(cls, value: dict) -> dict:
        return _field_map(value or {}, DETAIL_FIELDS)


class ShopRules(_Strict):
    url_contains: str = Field(description="substring identifying a shop page URL")
    fields: dict[str, RuleList] = Field(description=f"fields: {', '.join(SHOP_FIELDS)}")

    @field_validator("fields", mode="before")
    @classmethod
    def _fields(cls, value: dict) -> dict:
        return _field_map(value or {}, SHOP_FIELDS)


class Render(_Strict):
    mode: Literal["http", "playwright"] = Field("http", description="plain HTTP, or Chromium via Playwright")
    wait_for: str | None = Field(None, description="CSS selector to wait for before reading the page")
    scroll: int = Field(0, ge=0, le=50, description="times to scroll to the bottom (lazy-loaded cards)")
    timeout_ms: int = Field(20_000, ge=1000, le=120_000, description="page timeout")


class Politeness(_Strict):
    concurrency: int = Field(1, ge=1, le=32, description="concurrent requests to the site's domain")
    delay: float = Field(2.0, ge=0, le=120, description="seconds between requests (AutoThrottle's start delay)")
    autothrottle: bool = Field(True, description="adapt the delay to the site's response times")
    obey_robots: bool = Field(True, description="obey robots.txt (turning it off needs a documented reason)")


class BlockSignature(_Strict):
    kind: Literal["captcha", "login", "rate_limit", "other"] = Field(description="what the block page is")
    url_contains: str | None = Field(None, description="the (redirected) URL contains this")
    text: str | None = Field(None, description="the page text contains this")
    selector: str | None = Field(None, description="CSS selector present only on the block page")

    @model_validator(mode="after")
    def _some(self) -> BlockSignature:
        if not (self.url_contains or self.text or self.selector):
            raise ValueError("give url_contains, text or selector")
        if self.selector:
            compile_rule("css:" + self.selector)
        return self
