"""Measuring the extractors on labelled corpora (`lijian eval products|serps`): the figures as
data, for the command to print and the tests to hold against floors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from crawler.extract.pages import PageError
from crawler.extract.scoring import FieldScore, SerpScore, add, score_serp

FIELDS = ("price", "sku", "availability", "brand", "mpn", "gtin")  # scored by evaluate_products


@dataclass
class ProductReport:
    pages: int = 0
    scores: dict[str, FieldScore] = field(default_factory=lambda: {f: FieldScore() for f in FIELDS})
    wrong: list[str] = field(default_factory=list)  # one line per wrong value


def evaluate_products(folder: Path) -> ProductReport:
    """Per-field scores of the generic product extractor on ground-truth.json + html/KEY.html.gz.
    Raises PageError when the ground truth cannot be read."""
    from crawler.extract.pages import read_page  # noqa: PLC0415
    from crawler.extract.product import extract_product  # noqa: PLC0415

    truth_file = folder / "ground-truth.json"
    try:
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PageError(f"{truth_file}: cannot read ground truth ({exc})") from None
    report = ProductReport(pages=len(truth))
    for key, expected in truth.items():
        page = read_page(folder / "html" / f"{key}.html.gz")
        found = extract_product(page.html, expected["url"]).as_dict()
        for name in FIELDS:
            if not add(report.scores[name], name, found.get(name), expected.get(name)):
                report.wrong.append(f"{name:<12} {key[:10]} got {found.get(name)!r} want {expected.get(name)} "
                                    f"({found['sources'].get(name, '-')}) {expected['url'][:60]}")
    return report


@dataclass
class SerpPage:
    name: str
    market: str
    expected: int
    found: int
    right: int
    problems: list[str]


@dataclass
class SerpReport:
    pages: list[SerpPage] = field(default_factory=list)
    markets: dict[str, SerpScore] = field(default_factory=dict)

    @property
    def total(self) -> SerpScore:
        total = SerpScore()
        for score in self.markets.values():
            for name in ("expected", "found", "url_hits", "both_hits", "extra", "by_subtitle", "pages", "pages_in_order"):
                setattr(total, name, getattr(total, name) + getattr(score, name))
        return total


def serp_files(folder: Path) -> Iterator[tuple[Path, Path]]:
    for expected_file in sorted(folder.rglob("*.expected.json")):
        yield expected_file, expected_file.with_name(expected_file.name.replace(".expected.json", ".warc.gz"))


def evaluate_serps(folder: Path, profiles) -> SerpReport:
    """Search-result extraction against archived pages (<name>.warc.gz + <name>.expected.json),
    per marketplace (the file's folder). Raises PageError for an archive that cannot be read."""
    from crawler.extract.archive import read_inputs  # noqa: PLC0415
    from crawler.extract.page import extract_page  # noqa: PLC0415

    report = SerpReport()
    for expected_file, archive in serp_files(folder):
        expected = json.loads(expected_file.read_text(encoding="utf-8")).get("results") or []
        found = [r for page in read_inputs(archive)
                 for r in extract_page(page, profiles, page_type="search") if r["page_type"] == "search_result"]
        market = expected_file.parent.name
        score = report.markets.setdefault(market, SerpScore())
        before = score.both_hits
        problems = score_serp(score, found, expected)
        report.pages.append(SerpPage(expected_file.name.removesuffix(".expected.json"), market, len(expected),
                                     len(found), score.both_hits - before, problems))
    return report


# -- Chinese marketplaces ---------------------------------------------------------------------
CN_DETAIL_FIELDS = ("title", "price", "seller_name", "item_id", "brand")
CN_SEARCH_FIELDS = ("title", "price")


@dataclass
class CnScore:
    right: int = 0
    total: int = 0

    @property
    def share(self) -> float:
        return self.right / self.total if self.total else 1.0


@dataclass
class CnMarket:
    detail: dict[str, CnScore] = field(default_factory=lambda: {f: CnScore() for f in CN_DETAIL_FIELDS})
    found: int = 0  # search result cards the extractor reported
    expected: int = 0  # cards in the truth
    matched: int = 0  # reported cards that are cards of the truth
    search: dict[str, CnScore] = field(default_factory=lambda: {f: CnScore() for f in CN_SEARCH_FIELDS})

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else (1.0 if not self.expected else 0.0)


@dataclass
class CnReport:
    markets: dict[str, CnMarket] = field(default_factory=dict)
    pages: int = 0
    wrong: list[str] = field(default_factory=list)


def _text_key(value: object) -> str:
    from watchlists.text import squeezed  # noqa: PLC0415

    return squeezed(str(value or ""))


def _same_text(found: object, wanted: list[object]) -> bool:
    got = _text_key(found)
    return bool(got) and any(got == _text_key(w) for w in wanted if w)


def _same_price(found: object, wanted: list[object]) -> bool:
    from crawler.normalise import price_value  # noqa: PLC0415

    got = price_value(found)[0] if found not in (None, "") else None
    wants = [price_value(w)[0] if w not in (None, "") else None for w in wanted]
    return got in wants


def evaluate_cn(folder: Path, profiles: dict | None = None) -> CnReport:
    """Per marketplace: product-page fields right (title, the buyer's price, seller, item id,
    brand) and search-result recall and precision by item id, with title and price right on
    the cards found, against truth_detail.json and truth_search.json of `folder`. Each page is
    read through the marketplace's bundled profile, as `lijian extract --profile` does."""
    from crawler.extract.archive import InputPage  # noqa: PLC0415
    from crawler.extract.page import extract_page  # noqa: PLC0415
    from crawler.extract.pages import read_page  # noqa: PLC0415
    from crawler.profiles import load_profiles  # noqa: PLC0415

    profiles = profiles if profiles is not None else load_profiles()
    report = CnReport()
    for truth_name in ("truth_detail.json", "truth_search.json"):
        try:
            truth = json.loads((folder / truth_name).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PageError(f"{folder / truth_name}: cannot read the truth ({exc})") from None
        for name, entry in truth.items():
            if name.startswith("_") or entry.get("marketplace") not in profiles:
                continue
            market = report.markets.setdefault(entry["marketplace"], CnMarket())
            saved = read_page(folder / name)
            page = InputPage(source=str(folder / name), url=None, archived_url=None, encoding=saved.encoding,
                             html=saved.html)
            report.pages += 1
            if entry.get("page_type") == "detail":
                records = extract_page(page, profiles, profile_name=entry["marketplace"], page_type="product")
                found = records[0] if records else {}
                for key in CN_DETAIL_FIELDS:
                    if key not in entry:
                        continue
                    wanted = [entry[key], *(entry.get(f"{key}_alt") or [])]
                    same = (_same_price(found.get("price"), wanted) if key == "price"
                            else _same_text(found.get("listing_key") if key == "item_id" else found.get(key), wanted)
                            if entry[key] is not None else not found.get(key))
                    market.detail[key].total += 1
                    market.detail[key].right += same
                    if not same:
                        report.wrong.append(f"{name}: {key} got {found.get(key)!r} want {entry[key]!r}")
            elif entry.get("page_type") == "search":
                records = [r for r in extract_page(page, profiles, profile_name=entry["marketplace"],
                                                   page_type="search") if r.get("page_type") == "search_result"]
                cards = {str(item["item_id"]): item for item in entry.get("items", []) if item.get("item_id")}
                for item in entry.get("items", []):
                    for alt in item.get("item_id_alt") or []:
                        cards.setdefault(str(alt), item)
                market.expected += len({id(c) for c in cards.values()})
                market.found += len(records)
                hit = set()
                for record in records:
                    item = cards.get(str(record.get("item_id") or ""))
                    if item is None or id(item) in hit:
                        continue
                    hit.add(id(item))
                    market.matched += 1
                    for key in CN_SEARCH_FIELDS:
                        wanted = [item.get(key), *(item.get(f"{key}_alt") or [])]
                        same = (_same_price(record.get(key), wanted) if key == "price"
                                else _same_text(record.get(key), wanted))
                        market.search[key].total += 1
                        market.search[key].right += same
                if len(hit) < len({id(c) for c in cards.values()}) or len(records) > len(hit):
                    report.wrong.append(f"{name}: {len(hit)} of {len({id(c) for c in cards.values()})} cards found, "
                                        f"{len(records) - len(hit)} reported that are none")
    return report
