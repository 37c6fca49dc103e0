"""Site profiles: one declarative YAML file per marketplace in spiders/profiles/.

A profile says how to search a site and read its pages (its sections are in sections.py): search URL template, result-card and
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
from typing import Any
from urllib.parse import quote, urlsplit

import yaml
from pydantic import Field, ValidationError, field_validator

from crawler.extract.rules import Rule, has_match
from crawler.profiles.sections import (
    BlockSignature,
    CatalogueRules,
    DetailRules,
    JsonSource,
    Politeness,
    Render,
    RuleList,
    SearchRules,
    ShopRules,
    SpecRules,
    _compile_all,
    _rules_validator,
    _Strict,
)

BUNDLED_PROFILES = Path(__file__).resolve().parent.parent.parent / "spiders" / "profiles"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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
    catalogue: CatalogueRules | None = Field(None, description="crawl the site's catalogue, category pages or "
                                             "sitemaps instead of searching it (lijian crawl-shop --profile)")
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

    @cached_property
    def catalogue_rules(self) -> dict[str, list[Rule]]:
        rules = self.catalogue
        return {key: _compile_all(getattr(rules, key) if rules else []) for key in ("product_links", "next_page")}

    def catalogue_urls(self, base: str | None) -> tuple[list[str], list[str]]:
        """(start pages, sitemaps) of its catalogue, {base} filled in; ValueError when a URL
        needs {base} and none is given."""
        if self.catalogue is None:
            raise ValueError(f"profile {self.name!r} has no catalogue rules")
        urls = (self.catalogue.start_urls, self.catalogue.sitemaps)
        if any("{base}" in url for group in urls for url in group) and not base:
            raise ValueError(f"profile {self.name!r} crawls from the site's address ({{base}}): give it with --base-url URL")
        return tuple([url.replace("{base}", (base or "").rstrip("/")) for url in group] for group in urls)

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
            if sig.selector and has_match(selector, sig.selector):
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


def browser_settings(profiles: list[Profile]) -> dict[str, Any]:
    """Scrapy settings for the browser: none when a profile of the crawl renders in Chromium;
    when none does, Scrapy's own HTTP download handlers instead of scrapy-playwright's, so no
    Playwright driver (two Node.js processes, about 260 MB) is started for nothing."""
    if any(p.render.mode == "playwright" for p in profiles):
        return {}
    return {"DOWNLOAD_HANDLERS": {}}


__all__ = ["BUNDLED_PROFILES", "BlockSignature", "CatalogueRules", "DetailRules", "JsonSource", "Politeness", "Profile",
           "ProfileError", "ProfileProblem", "Render", "SearchRules", "ShopRules", "SpecRules", "browser_settings",
           "check_profiles",
           "load_profiles", "politeness_settings", "profile_for_url", "resolve_profiles"]
