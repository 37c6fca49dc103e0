"""Site profiles: one declarative YAML file per marketplace in spiders/profiles/.

A profile says how to search a site and read its pages: search URL template, result-card and
detail-page field rules (crawler.extract.rules, several alternatives per field for layouts of
different years), pagination, the item id rule, render mode, encoding override, politeness,
and block-page signatures. Adding a site is adding a file. docs/PROFILES.md documents every
field; `lijian profiles check` validates them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crawler.extract.rules import Rule, RuleError, compile_rule

BUNDLED_PROFILES = Path(__file__).resolve().parent.parent / "spiders" / "profiles"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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


class Profile(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="short code, stored as the listing's marketplace")
    title: str = Field(description="human name, e.g. 京东 JD.com")
    domains: list[str] = Field(min_length=1, description="host names (and their subdomains) this profile reads")
    url_patterns: list[str] = Field(default_factory=list, description="regexes narrowing which URLs are this "
                                                                      "site's (sandbox flavours share a host)")
    sandbox: bool = Field(False, description="a bundled sandbox flavour (search URL uses {base})")
    encoding: str | None = Field(None, description="override the page encoding (else header, BOM, meta, detection)")
    item_url: str | None = Field(None, description="a listing's address from its id ({item_id}): for search results "
                                                   "read from the page's embedded state, which carry an id, not a link")
    categories: dict[str, str] = Field(default_factory=dict, description="the site's own category names (as its "
                                       "pages label them: category_label) mapped to our category slugs")
    search: SearchRules | None = None
    detail: DetailRules = Field(default_factory=DetailRules)
    shop: ShopRules | None = None
    item_id: RuleList = Field(default_factory=list, description="rules for the listing id (url: on the item URL)")
    render: Render = Field(default_factory=Render)
    politeness: Politeness = Field(default_factory=Politeness)
    blocked: list[BlockSignature] = Field(default_factory=list, description="block-page signatures")
    notes: str | None = Field(None, description="what the rules were written from, and known gaps")

    _v_rules = _rules_validator("item_id")

    @field_validator("url_patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r} ({exc})") from None
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        if value:
            try:
                b"".decode(value)
            except LookupError:
                raise ValueError(f"unknown encoding {value!r}") from None
        return value

    # -- compiled views (rules are validated above, so compiling cannot fail here) ----------
    @cached_property
    def card_rules(self) -> dict[str, list[Rule]]:
        return {k: _compile_all(v) for k, v in (self.search.fields if self.search else {}).items()}

    @cached_property
    def search_rules(self) -> dict[str, list[Rule]]:
        """cards, exclude, next_page and no_results rules, compiled."""
        rules = self.search
        return {key: _compile_all(getattr(rules, key) if rules else [])
                for key in ("cards", "exclude", "next_page", "no_results")}

    @cached_property
    def detail_rules(self) -> dict[str, list[Rule]]:
        return {k: _compile_all(v) for k, v in self.detail.fields.items()}

    @cached_property
    def shop_rules(self) -> dict[str, list[Rule]]:
        return {k: _compile_all(v) for k, v in (self.shop.fields if self.shop else {}).items()}

    @cached_property
    def item_id_rules(self) -> list[Rule]:
        return _compile_all(self.item_id)

    def matches(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        if not any(host == d or host.endswith("." + d) for d in self.domains):
            return False
        return not self.url_patterns or any(re.search(p, url) for p in self.url_patterns)

    @property
    def needs_base(self) -> bool:
        """Its search URL starts from an address given at crawl time ({base})."""
        return self.search is not None and "{base}" in self.search.url

    def category_of(self, label: str | None) -> str | None:
        """Our category for a label the site gives a page: the mapped name itself, else the
        longest mapped name the label contains (a breadcrumb such as 玩具乐器 > 积木拼插)."""
        if not label or not self.categories:
            return None
        if label in self.categories:
            return self.categories[label]
        inside = [name for name in self.categories if name in label]
        return self.categories[max(inside, key=len)] if inside else None

    def listing_url(self, item_id: object) -> str | None:
        return self.item_url.format(item_id=item_id) if self.item_url else None

    def search_url(self, keyword: str, page_number: int = 1, base: str = "") -> str:
        """The URL of results page `page_number` (1-based) for `keyword`."""
        if self.search is None:
            raise ValueError(f"profile {self.name} has no search rules")
        value = self.search.first_page + (page_number - 1) * self.search.page_step
        encoded = quote(keyword.encode(self.search.keyword_encoding))
        return self.search.url.format(keyword=encoded, page=value, base=base.rstrip("/"))

    def is_search_url(self, url: str) -> bool:
        """Whether `url` has the path of this profile's search URL (case ignored)."""
        if self.search is None:
            return False
        template = urlsplit(self.search_url("x", 1, base="http://host"))
        return urlsplit(url).path.rstrip("/").lower() == template.path.rstrip("/").lower()

    def is_blocked(self, url: str, text: str, selector) -> str | None:
        """The kind of block page this is, or None for a real page."""
        for sig in self.blocked:
            if sig.url_contains and sig.url_contains in url:
                return sig.kind
            if sig.text and sig.text in text:
                return sig.kind
            if sig.selector and selector.css(sig.selector):
                return sig.kind
        return None


@dataclass(frozen=True)
class ProfileProblem:
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}" if self.field else f"{self.file}: {self.message}"


class ProfileError(ValueError):
    def __init__(self, problems: list[ProfileProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


def _load_one(path: Path) -> tuple[Profile | None, list[ProfileProblem]]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ProfileProblem(path.name, "", f"cannot read ({exc})")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        return None, [ProfileProblem(path.name, where, f"not valid YAML ({getattr(exc, 'problem', exc)})")]
    if not isinstance(data, dict):
        return None, [ProfileProblem(path.name, "", "must be a mapping of profile fields")]
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        return None, [ProfileProblem(path.name, ".".join(str(p) for p in err["loc"]),
                                     err["msg"].removeprefix("Value error, ")) for err in exc.errors()]
    if profile.name != path.stem:
        return None, [ProfileProblem(path.name, "name", f"must equal the file name ({path.stem!r})")]
    return profile, []


def check_profiles(folder: Path = BUNDLED_PROFILES) -> tuple[dict[str, Profile], list[ProfileProblem]]:
    profiles: dict[str, Profile] = {}
    problems: list[ProfileProblem] = []
    if not folder.is_dir():
        return {}, [ProfileProblem(str(folder), "", "not a folder")]
    for path in sorted(folder.glob("*.yaml")):
        profile, found = _load_one(path)
        problems.extend(found)
        if profile is not None:
            profiles[profile.name] = profile
    if not profiles and not problems:
        problems.append(ProfileProblem(str(folder), "", "no *.yaml profiles"))
    return profiles, problems


def load_profiles(folder: Path = BUNDLED_PROFILES) -> dict[str, Profile]:
    profiles, problems = check_profiles(folder)
    if problems:
        raise ProfileError(problems)
    return profiles


def profile_for_url(profiles: dict[str, Profile], url: str) -> Profile | None:
    """The profile whose domains (and URL patterns) cover `url`; the most specific one wins."""
    candidates = [p for p in profiles.values() if p.matches(url)]
    candidates.sort(key=lambda p: (-len(p.url_patterns), p.name))
    return candidates[0] if candidates else None


# -- choosing profiles for a crawl ---------------------------------------------------------
SANDBOX_SHORTHAND = {"a": "sandbox-a", "b": "sandbox-b", "c": "sandbox-c", "d": "sandbox-d"}


def resolve_profiles(names: str | list[str], profiles: dict[str, Profile] | None = None) -> list[Profile]:
    """Profiles by name (a-d short for the sandbox flavours); ValueError naming an unknown one."""
    profiles = profiles if profiles is not None else load_profiles()
    wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    chosen = []
    for name in wanted:
        name = SANDBOX_SHORTHAND.get(name, name)
        if name not in profiles:
            raise ValueError(f"unknown site {name!r}; known: {', '.join(sorted(profiles))}")
        chosen.append(profiles[name])
    return chosen


def politeness_settings(profiles: list[Profile]) -> dict[str, Any]:
    """Scrapy settings that carry the profiles' politeness: one download slot per profile."""
    slots = {p.name: {"concurrency": p.politeness.concurrency, "delay": p.politeness.delay,
                      "jitter": 0.5 if p.politeness.delay > 0 else 0} for p in profiles}
    settings: dict[str, Any] = {"DOWNLOAD_SLOTS": slots}
    throttled = [p for p in profiles if p.politeness.autothrottle]
    if throttled:
        settings.update(AUTOTHROTTLE_ENABLED=True,
                        AUTOTHROTTLE_START_DELAY=max(p.politeness.delay for p in throttled),
                        AUTOTHROTTLE_TARGET_CONCURRENCY=1.0)
    return settings
