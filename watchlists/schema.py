"""The watchlist schema: one pydantic model per kind of entry. docs/WATCHLISTS.md documents
every field; a test keeps that document and these models in step."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

CertKind = Literal["ccc", "fertilizer_registration", "production_licence"]
CERT_KINDS: tuple[str, ...] = ("ccc", "fertilizer_registration", "production_licence")
CertStatus = Literal["valid", "suspended", "revoked", "cancelled", "expired"]
Unit = Literal["piece", "metre", "kg", "tonne", "bag", "roll", "litre", "set"]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _no_blank(values: list[str]) -> list[str]:
    return [v.strip() for v in values if v and v.strip()]


class Category(_Entry):
    slug: str = Field(pattern=r"^[a-z][a-z_]*$", description="Stable identifier used everywhere (spiders, matchers, reports).")
    zh: str = Field(min_length=1, description="Chinese label shown in digests and reports.")
    en: str = Field(min_length=1, description="English label.")
    keywords: list[str] = Field(default_factory=list, description="Search keywords the spiders use for this area.")
    requires: list[CertKind] = Field(default_factory=list, description="Certifications every listing in this area must show.")
    price_unit: Unit = Field("piece", description="What prices in this area are compared per (cable per metre, fertilizer per kg).")
    sampling_tests: str | None = Field(None, description="What a test purchase in this area is tested for, and against "
                                                         "which standard (printed on sampling orders).")


class OfficialShop(_Entry):
    name: str = Field(min_length=1, description="Shop name as the marketplace shows it, e.g. 美的官方旗舰店.")
    marketplace: str | None = Field(None, description="Marketplace slug (tmall, jd …); empty = any.")
    url: str | None = Field(None, description="Shop address, when known.")


class Product(_Entry):
    model: str = Field(min_length=1, description="Model number as printed by the maker.")
    name: str = Field(min_length=1, description="Product name, Chinese.")
    category: str | None = Field(None, description="Category slug; default: the brand's first category.")
    reference_price: Decimal | None = Field(None, gt=0, description="Typical retail price per unit, CNY.")
    unit: Unit = Field("piece", description="What the reference price is per: piece, metre, kg, tonne, bag, roll, litre, set.")
    price_note: str | None = Field(None, description="Where the reference price comes from; 'plausible' marks an illustrative figure.")
    requires: list[CertKind] = Field(default_factory=list, description="Certifications this product must carry (beyond its category's).")


class Brand(_Entry):
    name: str = Field(min_length=1, description="Canonical name, as regulators write it (usually Chinese).")
    latin: list[str] = Field(default_factory=list, description="Names in Latin script: Midea, GREE, MANN-FILTER.")
    aliases: list[str] = Field(default_factory=list, description="Other names that are the same brand (company short names, old names).")
    owner: str | None = Field(None, description="The company that owns the brand.")
    categories: list[str] = Field(default_factory=list, description="Category slugs the brand sells in.")
    defensive_names: list[str] = Field(default_factory=list, description="Look-alike names the owner registered itself: never flagged.")
    official_shops: list[OfficialShop] = Field(default_factory=list, description="Authorised sellers and official shops.")
    products: list[Product] = Field(default_factory=list, description="Catalogue: the brand's products with reference prices.")

    _lists = field_validator("latin", "aliases", "categories", "defensive_names", mode="after")(_no_blank)

    def all_names(self) -> list[str]:
        """Every name that means this brand: canonical, Latin-script and aliases."""
        return [self.name, *self.latin, *self.aliases]


class Certificate(_Entry):
    kind: CertKind = Field(description="ccc, fertilizer_registration or production_licence.")
    number: str = Field(min_length=1, description="Certificate number exactly as issued.")
    holder: str | None = Field(None, description="Certificate holder (applicant).")
    manufacturer: str | None = Field(None, description="Manufacturer named on the certificate.")
    brand: str | None = Field(None, description="Brand the certified product is sold under.")
    product: str | None = Field(None, description="Certified product.")
    models: list[str] = Field(default_factory=list, description="Certified model numbers.")
    issued: date | None = Field(None, description="Date of issue.")
    expires: date | None = Field(None, description="Expiry date.")
    status: CertStatus = Field(description="valid, suspended, revoked, cancelled or expired.")
    source: str = Field(min_length=1, description="Where this record comes from (registry export file, SAMPLE …).")
    checked: date | None = Field(None, description="When the status was last checked against the source.")

    _lists = field_validator("models", mode="after")(_no_blank)


class RiskTerm(_Entry):
    term: str = Field(min_length=1, description="The word or phrase as sellers write it.")
    weight: float = Field(gt=0, le=1, description="How strongly the term alone suggests a counterfeit (0-1].")
    categories: list[str] = Field(default_factory=list, description="Category slugs it applies to; empty = all.")
    meaning: str = Field("", description="What the term means, for the analyst.")


class LegitimateContext(_Entry):
    phrase: str = Field(min_length=1, description="A phrase that makes naming another brand legitimate.")
    categories: list[str] = Field(default_factory=list, description="Category slugs where it applies; empty = all.")
    note: str = Field("", description="Why it is legitimate.")


class CodeEntry(_Entry):
    code: str = Field(min_length=1, description="The code as it appears inside a number.")
    name: str = Field(min_length=1, description="What the code stands for.")
    categories: list[str] = Field(default_factory=list, description="Category slugs this code covers.")
    verified: bool = Field(False, description="True when checked against the cited source.")


class NumberFormat(_Entry):
    kind: CertKind
    pattern: str = Field(description="Regular expression a well-formed number matches (after NFKC).")
    structure: str = Field(description="The parts of the number, in words.")
    example: str = Field(description="A well-formed example.")
    source: str = Field(description="The regulation or publication the format comes from.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


def field_docs() -> dict[str, dict[str, str]]:
    """Model name -> field name -> description: what docs/WATCHLISTS.md must cover."""
    models = (Category, OfficialShop, Product, Brand, Certificate, RiskTerm, LegitimateContext, CodeEntry, NumberFormat)
    return {m.__name__: {n: f.description or "" for n, f in m.model_fields.items()} for m in models}
