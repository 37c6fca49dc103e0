"""A deterministic generated catalog for the sandbox marketplace, with its ground truth.

`build_catalog(listings, seed)` always returns the same listings for the same arguments, so
tests can rebuild the truth in-process while the server (possibly another process) serves
it. The truth (`suspect_kinds`, `hostile`) is never rendered into the pages.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from crawler.sandbox.market_data import (
    COUNTERFEIT_TERMS,
    REGIONS,
    SHOP_PREFIXES,
    SHOP_WORDS,
    TITLE_PADDING,
    WORLD,
    CategoryWorld,
    SandboxBrand,
)

FLAVOURS = ("a", "b", "c", "d")
FLAVOUR_NAMES = {"a": "UTF-8", "b": "GBK", "c": "JavaScript", "d": "JSON-LD"}
DEFAULT_LISTINGS = 400
DEFAULT_SEED = 2018
PAGE_SIZE = 20

# Kinds of planted suspect; each suspect listing carries exactly one.
SUSPECT_KINDS = (
    "lookalike_brand",
    "counterfeit_keyword",
    "price_low",
    "cert_malformed",
    "cert_missing",
    "cert_revoked",
    "fake_official_shop",
)
# Cumulative shares: about 38% of listings are planted suspects.
_KIND_CUTS = ((0.62, None), (0.70, "lookalike_brand"), (0.76, "counterfeit_keyword"),
              (0.82, "price_low"), (0.87, "cert_malformed"), (0.92, "cert_missing"),
              (0.96, "cert_revoked"), (1.00, "fake_official_shop"))
_CERT_KINDS = {"cert_malformed", "cert_missing", "cert_revoked"}

CERT_LABELS = {
    "ccc": "3C证书编号",
    "fertilizer_registration": "肥料登记证号",
    "production_licence": "生产许可证编号",
}

HOSTILE_STYLES = ("script", "img", "long", "bidi", "zero_width", "emoji")


@dataclass(frozen=True)
class SandboxSeller:
    id: str
    name: str
    province: str
    city: str
    authorised_for: str | None  # the brand whose official shop this is, if any
    phone: str


@dataclass
class SandboxListing:
    id: int
    flavour: str
    category: str
    category_zh: str
    brand: str  # genuine brand the listing is about (or imitates)
    brand_shown: str  # the name printed on the listing
    noun: str
    model: str
    title: str
    price: Decimal
    currency: str
    unit: str
    seller: SandboxSeller
    manufacturer: str
    specs: list[tuple[str, str]]
    cert_kind: str | None
    cert_number: str | None
    suspect_kinds: tuple[str, ...] = ()
    hostile: str | None = None
    reference_price: Decimal = field(default=Decimal(0))

    @property
    def path(self) -> str:
        return listing_path(self.flavour, self.id)


def listing_path(flavour: str, listing_id: int) -> str:
    return {"a": f"/a/item/{listing_id}.html", "b": f"/b/item/{listing_id}.html",
            "c": f"/c/item/{listing_id}", "d": f"/d/product/{listing_id}"}[flavour]


def revoked_ccc_numbers() -> tuple[str, ...]:
    """CCC certificates the sandbox's 'registry' lists as revoked; sellers keep printing them."""
    return tuple(f"2017010707{serial:06d}" for serial in (13, 77, 131)) + (
        "2016010101000042", "2018012201000314")


# Registrations and licences the sandbox's "registry" lists as no longer valid (they are in
# the bundled sample certificate list, as a regulator's registry export would have them).
REVOKED_OTHER = {"fertilizer_registration": ("农肥(2015)准字0512号",), "production_licence": ("XK05-001-00042",)}


def _ccc(rng: random.Random, ccc_class: str) -> str:
    # Structure: year (4) + certifying body (2, 01 = CQC) + product class (4) + serial (6).
    return f"{rng.randint(2015, 2024)}01{ccc_class}{rng.randint(100, 999999):06d}"


def _cert_number(rng: random.Random, world: CategoryWorld, kind: str | None) -> str | None:
    cert = world.certification
    if cert is None or kind == "cert_missing":
        return None
    if cert == "ccc":
        if kind == "cert_revoked":
            return rng.choice([n for n in revoked_ccc_numbers() if n[6:10] == world.ccc_class]
                              or list(revoked_ccc_numbers()[:1]))
        number = _ccc(rng, world.ccc_class or "0707")
        if kind == "cert_malformed":
            return rng.choice([number[:-1], number[:4] + "O" + number[5:], number + "7"])
        return number
    if cert == "fertilizer_registration":
        year, serial = rng.randint(2014, 2023), rng.randint(1000, 9999)
        if kind == "cert_malformed":
            return rng.choice([f"农肥准字{serial}号", f"农肥({year})准字{serial}"])
        if kind == "cert_revoked":
            return rng.choice(REVOKED_OTHER["fertilizer_registration"])
        return f"农肥({year})准字{serial}号"
    # production_licence: XK + product unit code (05 = steel) + sequence codes.
    if kind == "cert_malformed":
        return f"XK5-{rng.randint(1, 99)}-{rng.randint(1, 999)}"
    if kind == "cert_revoked":
        return rng.choice(REVOKED_OTHER["production_licence"])
    return f"XK05-001-{rng.randint(100, 99999):05d}"


def _sellers(rng: random.Random, count: int) -> list[SandboxSeller]:
    sellers = []
    official_brands = [b for w in WORLD for b in w.brands]
    for brand_index, brand in enumerate(official_brands):
        province, city = REGIONS[brand_index % len(REGIONS)]
        shop = brand.official_shop or f"{brand.name}官方旗舰店"
        sellers.append(SandboxSeller(f"S{len(sellers) + 1:04d}", shop, province, city,
                                     brand.name, f"400-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"))
    while len(sellers) < count:
        province, city = rng.choice(REGIONS)
        name = f"{city}{rng.choice(SHOP_PREFIXES)}{rng.choice(SHOP_WORDS)}"
        sellers.append(SandboxSeller(f"S{len(sellers) + 1:04d}", name, province, city, None,
                                     f"1{rng.randint(3, 9)}{rng.randint(100000000, 999999999)}"))
    return sellers


def _hostile_title(rng: random.Random, title: str, brand_shown: str) -> tuple[str, str]:
    style = rng.choice(HOSTILE_STYLES)
    if style == "script":
        return style, f"{title}<script>alert('xss')</script>"
    if style == "img":
        return style, f'<img src=x onerror="alert(1)">{title}'
    if style == "long":
        return style, f"{title} {'超长标题填充' * 600}"
    if style == "bidi":
        return style, f"{title} \u202e价特\u202c"
    if style == "zero_width":
        spaced = "\u200b".join(brand_shown)
        return style, title.replace(brand_shown, spaced, 1)
    return style, f"🔥{title} Cafe\u0301 ✨"


def _kind(rng: random.Random, world: CategoryWorld) -> str | None:
    roll = rng.random()
    kind = next(k for cut, k in _KIND_CUTS if roll < cut)
    if kind in _CERT_KINDS and world.certification is None:
        return "lookalike_brand"
    return kind


@dataclass(frozen=True)
class _SellerPools:
    official: dict[str, SandboxSeller]
    third_party: tuple[SandboxSeller, ...]

    @classmethod
    def of(cls, sellers: list[SandboxSeller]) -> _SellerPools:
        return cls({s.authorised_for: s for s in sellers if s.authorised_for},
                   tuple(s for s in sellers if s.authorised_for is None))


def _listing(rng: random.Random, index: int, pools: _SellerPools, flavours: tuple[str, ...] = FLAVOURS) -> SandboxListing:
    flavour = flavours[index % len(flavours)]
    world = WORLD[(index // len(flavours)) % len(WORLD)]
    brand: SandboxBrand = rng.choice(world.brands)
    product = rng.choice(world.products)
    kind = _kind(rng, world)
    brand_shown = rng.choice(brand.lookalikes) if kind == "lookalike_brand" else brand.name
    model = f"{product.model_prefix}{rng.randint(10, 999)}{rng.choice(['', 'A', 'S', 'Pro'])}"
    reference = Decimal(str(product.reference_price))
    if kind == "price_low":
        factor = rng.uniform(0.10, 0.28)
    elif kind == "lookalike_brand":
        factor = rng.uniform(0.45, 0.8)
    else:
        factor = rng.uniform(0.86, 1.15)
    price = (reference * Decimal(str(round(factor, 3)))).quantize(Decimal("0.01"))

    official = pools.official[brand.name]
    seller = official if (kind is None and rng.random() < 0.3) else rng.choice(pools.third_party)
    if kind == "fake_official_shop":
        seller = SandboxSeller(f"F{index:05d}", f"{brand.name}官方直营店", seller.province, seller.city,
                               None, seller.phone)
    manufacturer = brand.manufacturer if brand_shown == brand.name else f"{seller.city}{brand_shown}实业有限公司"

    words = rng.sample(TITLE_PADDING, 2)
    title = f"{brand_shown} {product.noun} {model} {words[0]}{words[1]}"
    if kind == "counterfeit_keyword":
        # "无3C" (no CCC) only means something where CCC is mandatory.
        terms = COUNTERFEIT_TERMS if world.certification == "ccc" else tuple(t for t in COUNTERFEIT_TERMS if "3C" not in t)
        title = f"{title} {rng.choice(terms)}"
    hostile = None
    if rng.random() < 0.07:
        hostile, title = _hostile_title(rng, title, brand_shown)

    cert_number = _cert_number(rng, world, kind)
    specs = [("品牌", brand_shown), ("型号", model), ("生产企业", manufacturer)]
    if cert_number and world.certification:
        specs.append((CERT_LABELS[world.certification], cert_number))
    specs.extend(product.spec_extra)
    specs.append(("计价单位", product.unit))
    return SandboxListing(
        id=10000 + index, flavour=flavour, category=world.slug, category_zh=world.zh,
        brand=brand.name, brand_shown=brand_shown, noun=product.noun, model=model, title=title,
        price=price, currency="CNY", unit=product.unit, seller=seller, manufacturer=manufacturer,
        specs=specs, cert_kind=world.certification, cert_number=cert_number,
        suspect_kinds=(kind,) if kind else (), hostile=hostile, reference_price=reference,
    )


@dataclass(frozen=True, eq=False)
class Catalog:
    listings: tuple[SandboxListing, ...]
    sellers: tuple[SandboxSeller, ...]
    seed: int

    def by_id(self, listing_id: int) -> SandboxListing | None:
        index = listing_id - 10000
        if 0 <= index < len(self.listings):
            return self.listings[index]
        return None

    def seller(self, seller_id: str) -> SandboxSeller | None:
        return self._seller_index().get(seller_id)

    @lru_cache(maxsize=1)
    def _seller_index(self) -> dict[str, SandboxSeller]:
        index = {s.id: s for s in self.sellers}
        for listing in self.listings:
            index.setdefault(listing.seller.id, listing.seller)
        return index

    @lru_cache(maxsize=256)
    def search(self, flavour: str, keyword: str) -> tuple[SandboxListing, ...]:
        """Listings of one site whose title contains the keyword, in catalog order (cached per query)."""
        if not keyword:
            return ()
        return tuple(item for item in self.listings if item.flavour == flavour and keyword in item.title)

    def listings_of(self, flavour: str, seller_id: str) -> tuple[SandboxListing, ...]:
        return self._shop_index().get((flavour, seller_id), ())

    @lru_cache(maxsize=1)
    def _shop_index(self) -> dict[tuple[str, str], tuple[SandboxListing, ...]]:
        index: dict[tuple[str, str], list[SandboxListing]] = {}
        for item in self.listings:
            index.setdefault((item.flavour, item.seller.id), []).append(item)
        return {key: tuple(items) for key, items in index.items()}

    def suspects(self) -> list[SandboxListing]:
        return [l for l in self.listings if l.suspect_kinds]


@lru_cache(maxsize=8)
def build_catalog(listings: int = DEFAULT_LISTINGS, seed: int = DEFAULT_SEED,
                  flavours: tuple[str, ...] = FLAVOURS) -> Catalog:
    """`listings` listings spread over `flavours` (all four by default; e.g. a, b, d for a
    large crawl without the browser)."""
    if listings < 1:
        raise ValueError("a sandbox catalog needs at least one listing")
    unknown = [f for f in flavours if f not in FLAVOURS]
    if unknown or not flavours:
        raise ValueError(f"unknown sandbox flavour {unknown[0] if unknown else '(none)'!r}; choose from "
                         f"{', '.join(FLAVOURS)}")
    rng = random.Random(seed)
    sellers = _sellers(rng, max(40, listings // 8))
    pools = _SellerPools.of(sellers)
    items = tuple(_listing(rng, index, pools, tuple(flavours)) for index in range(listings))
    return Catalog(items, tuple(sellers), seed)
