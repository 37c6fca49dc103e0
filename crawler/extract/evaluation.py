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
