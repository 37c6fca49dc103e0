"""One crawl, described once.

A `CrawlSpec` says what to crawl and within which limits. `lijian crawl` and `crawl-shop`,
campaign runs, the scheduler, Redis workers and the spiders pass the same object (as JSON
between processes: the campaign's crawl subprocess reads it on its stdin, a worker from the
run's key in Redis), and `check` validates it in one place against the site profiles and the
category taxonomy, so an unknown category, a sandbox flavour without the sandbox's URL or a
URL that is not http(s) is refused with the same words whoever asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crawler.errors import UserError

if TYPE_CHECKING:
    from crawler.profiles import Profile
    from watchlists.schema import Category

SANDBOX_SITES = ("a", "b", "c", "d")
SANDBOX_URL_NEEDED = "the sandbox flavours need the sandbox's URL (--sandbox URL)"
SCHEMES = ("http://", "https://")


class SpecError(UserError, ValueError):
    """A crawl that cannot run as specified. `field` names the part that is wrong, so that a
    face can point at its own option for it (`--category`, a form field)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _words(value: object) -> tuple[str, ...]:
    """"a,b" or ["a", "b"] as a tuple of stripped, non-empty words."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(str(v).strip() for v in items if str(v).strip())  # type: ignore[union-attr]


class CrawlSpec(BaseModel):
    """What one crawl run fetches. `spider` is `marketplace` (keyword searches through site
    profiles) or `shop` (any shop from its URLs); each uses its own fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    spider: Literal["marketplace", "shop"] = "marketplace"
    # marketplace: searches through site profiles
    sites: tuple[str, ...] = SANDBOX_SITES
    categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    base_url: str | None = None  # the site's address for profiles searching {base}: the sandbox, a shop on any host
    max_pages: int | None = Field(None, ge=1)  # marketplace: result pages per keyword; shop: pages in all
    # shop: start pages on any host, or the catalogue of a site profile (its start pages and
    # sitemaps, {base} from base_url)
    urls: tuple[str, ...] = ()
    catalogue: str | None = None
    depth: int = Field(3, ge=0)
    generic: bool = False
    # where the lists and profiles are, and what to keep
    profiles_dir: str | None = None
    watchlists_dir: str | None = None
    screenshot_dir: str | None = None
    # limits (Scrapy's CLOSESPIDER_*)
    max_listings: int | None = Field(None, ge=1)
    max_runtime: int | None = Field(None, ge=1)

    @field_validator("categories", "keywords", "urls", mode="before")
    @classmethod
    def _split(cls, value: object) -> tuple[str, ...]:
        return _words(value)

    @field_validator("sites", mode="before")
    @classmethod
    def _sites(cls, value: object) -> tuple[str, ...]:
        return _words(value) or SANDBOX_SITES

    @field_validator("generic", mode="before")
    @classmethod
    def _flag(cls, value: object) -> bool:
        return value in (True, 1, "1", "true", "yes") if isinstance(value, (bool, int, str)) else bool(value)

    @classmethod
    def of(cls, value: CrawlSpec | str | dict | None = None, **fields: Any) -> CrawlSpec:
        """A spec from a spec, its JSON, a dict, or the fields given one by one (Scrapy's
        `-a name=value` spider arguments); SpecError when a field is wrong."""
        try:
            if isinstance(value, CrawlSpec):
                return value.model_copy(update=fields) if fields else value
            if isinstance(value, str):
                return cls.model_validate_json(value)
            given = {k: v for k, v in {**(value or {}), **fields}.items() if v is not None}
            return cls.model_validate(given)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"]) or None
            raise SpecError(f"{where}: {problem['msg']}" if where else problem["msg"], where) from None

    def limits(self) -> dict[str, int]:
        """Scrapy settings that stop the crawl (0: no limit)."""
        return {"CLOSESPIDER_ITEMCOUNT": self.max_listings or 0, "CLOSESPIDER_TIMEOUT": self.max_runtime or 0}


@dataclass(frozen=True)
class CheckedSpec:
    """A spec that can run, with what checking it looked up: the chosen site profiles and the
    category taxonomy (marketplace crawls)."""

    spec: CrawlSpec
    profiles: list[Profile] = field(default_factory=list)
    taxonomy: dict[str, Category] = field(default_factory=dict)


def check(spec: CrawlSpec, profiles: dict[str, Profile] | None = None,
          taxonomy: dict[str, Category] | None = None) -> CheckedSpec:
    """Validate against the site profiles and the category taxonomy (read from the spec's
    folders unless given); SpecError names the first problem and its field."""
    from crawler.profiles import BUNDLED_PROFILES, ProfileError, load_profiles, resolve_profiles
    from watchlists import BUNDLED, read_categories

    def the_profiles() -> dict[str, Profile]:
        try:
            return load_profiles(Path(spec.profiles_dir) if spec.profiles_dir else BUNDLED_PROFILES)
        except ProfileError as exc:
            raise SpecError(f"site profiles are broken (run `lijian profiles check`):\n{exc}") from None

    if spec.spider == "shop":
        if not spec.urls and not spec.catalogue:
            raise SpecError("give at least one URL, e.g. https://shop.example/, or a profile with a catalogue", "urls")
        bad = [u for u in (*spec.urls, *([spec.base_url] if spec.base_url else [])) if not u.startswith(SCHEMES)]
        if bad:
            raise SpecError(f"{bad[0]!r} must start with http:// or https://", "urls")
        if not spec.catalogue:
            return CheckedSpec(spec)
        try:
            chosen = resolve_profiles([spec.catalogue], profiles if profiles is not None else the_profiles())
            chosen[0].catalogue_urls(spec.base_url)
        except ValueError as exc:
            raise SpecError(str(exc), "base_url" if "{base}" in str(exc) else "catalogue") from None
        return CheckedSpec(spec, chosen)

    if profiles is None:
        profiles = the_profiles()
    try:
        chosen = resolve_profiles(list(spec.sites), profiles)
    except ValueError as exc:
        raise SpecError(str(exc), "sites") from None
    no_search = [p.name for p in chosen if p.search is None]
    if no_search:
        raise SpecError(f"profile {no_search[0]!r} has no search rules", "sites")
    if any(p.sandbox for p in chosen) and not spec.base_url:
        raise SpecError(SANDBOX_URL_NEEDED, "base_url")
    based = [p.name for p in chosen if p.needs_base]
    if based and not spec.base_url:
        raise SpecError(f"profile {based[0]!r} searches from the site's address ({{base}}): give it with --base-url URL",
                        "base_url")
    if spec.base_url and not spec.base_url.startswith(SCHEMES):
        raise SpecError(f"base URL {spec.base_url!r} must start with http:// or https://", "base_url")
    if taxonomy is None:
        taxonomy = read_categories(Path(spec.watchlists_dir) if spec.watchlists_dir else BUNDLED)
    unknown = [c for c in spec.categories if c not in taxonomy]
    if unknown:
        raise SpecError(f"unknown category {unknown[0]!r}; known: {', '.join(taxonomy)}", "categories")
    for profile in chosen:
        wrong = [slug for slug in profile.categories.values() if slug not in taxonomy]
        if wrong:
            raise SpecError(f"profile {profile.name!r} maps a site category to {wrong[0]!r}, which is no category; "
                            f"known: {', '.join(taxonomy)}", "sites")
    return CheckedSpec(spec, chosen, taxonomy)


__all__ = ["SANDBOX_SITES", "CheckedSpec", "CrawlSpec", "SpecError", "check"]
