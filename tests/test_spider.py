"""Crawl the sandbox with the real spider (a `lijian crawl` subprocess) and compare the
database with the sandbox's own catalog."""

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.normalise import clean_text
from crawler.sandbox.catalog import build_catalog
from crawler.storage.models import CrawlRun, Listing, ListingSnapshot, Seller
from tests.conftest import run_lijian, start_sandbox, stop_sandbox


def crawl(sandbox_url: str, db_url: str, *args: str) -> str:
    result = run_lijian("crawl", "--sandbox", sandbox_url, "--db", db_url, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def stored(sessions, marketplace: str) -> dict[str, tuple]:
    with sessions() as session:
        rows = session.execute(
            select(Listing.listing_key, Listing.category, ListingSnapshot.title, ListingSnapshot.price,
                   ListingSnapshot.currency, Seller.seller_key, Seller.province, Seller.city, ListingSnapshot.specs)
            .join(ListingSnapshot, ListingSnapshot.listing_id == Listing.id)
            .join(Seller, Seller.id == Listing.seller_id)
            .where(Listing.marketplace == marketplace)
        ).all()
    return {r[0]: r[1:] for r in rows}


def expected(sandbox, flavour: str, categories: set[str] | None = None) -> dict[str, tuple]:
    catalog = build_catalog(sandbox.listings, sandbox.seed)
    return {
        str(l.id): (l.category, clean_text(l.title)[:2000], l.price, "CNY", l.seller.id, l.seller.province,
                    l.seller.city, {k: v for k, v in l.specs})
        for l in catalog.listings if l.flavour == flavour and (categories is None or l.category in categories)
    }


@pytest.mark.parametrize("flavour", ["a", "b", "d"])
def test_plain_http_flavours_collect_every_listing_exactly(sandbox, db_url, sessions, flavour):
    crawl(sandbox.url, db_url, "--site", flavour)
    assert stored(sessions, f"sandbox-{flavour}") == expected(sandbox, flavour)


def test_a_crawl_runs_no_remote_code_server_and_no_browser_it_does_not_need(sandbox, db_url):
    """Scrapy 2.19 enables, by default, an HTTP server in each crawl that runs Python code sent
    to it; a bureau's crawler must not have one (crawler/settings.py). A crawl whose profiles all
    read plain HTTP starts no Playwright (crawler/profiles browser_settings)."""
    result = run_lijian("crawl", "--sandbox", sandbox.url, "--db", db_url, "--site", "a", "--category", "cable",
                        "--log-level", "INFO")
    assert result.returncode == 0, result.stderr[-3000:]
    enabled = result.stderr[result.stderr.index("Enabled extensions"):][:2000]
    assert "CrawlRunRecorder" in enabled and "RemoteControl" not in enabled
    assert "remote control" not in result.stderr.lower()
    # No profile of this crawl renders in Chromium: Playwright's driver is not even started.
    assert "scrapy-playwright" not in result.stderr and "listings 0 " not in result.stdout


@pytest.mark.browser
def test_javascript_flavour_is_rendered_in_real_chromium(sandbox, db_url, sessions):
    crawl(sandbox.url, db_url, "--site", "c", "--category", "cable", "--category", "fertilizer")
    got = stored(sessions, "sandbox-c")
    want = expected(sandbox, "c", {"cable", "fertilizer"})
    assert want and got == want
    with sessions() as session:
        run = session.scalars(select(CrawlRun)).one()
    assert run.stats["playwright/page_count"] > 0  # the pages really went through the browser


def test_second_crawl_adds_no_listing_and_no_snapshot(sandbox, db_url, sessions):
    crawl(sandbox.url, db_url, "--site", "a", "--category", "cable")
    out = crawl(sandbox.url, db_url, "--site", "a", "--category", "cable")
    assert "(new 0, changed or new snapshots 0)" in out
    with sessions() as session:
        listings = session.scalar(select(func.count()).select_from(Listing))
        snapshots = session.scalar(select(func.count()).select_from(ListingSnapshot))
        runs = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
    assert listings == snapshots == len(expected(sandbox, "a", {"cable"}))
    assert [r.status for r in runs] == ["finished", "finished"]
    assert runs[0].listings_new == listings and runs[1].listings_new == 0
    assert runs[1].items_scraped == listings and runs[1].finished_at is not None


def test_crawl_under_faults_still_collects_every_listing(db_url, sessions):
    faulty = start_sandbox("--faults", "5xx,429,truncate,captcha,slow", "--fault-rate", "0.25")
    try:
        crawl(faulty.url, db_url, "--site", "a", "--site", "b", "--site", "d")
    finally:
        stop_sandbox(faulty)
    for flavour in "abd":
        assert stored(sessions, f"sandbox-{flavour}") == expected(faulty, flavour)
    with sessions() as session:
        run = session.scalars(select(CrawlRun)).one()
    assert run.stats.get("retry/count", 0) > 0 and run.stats.get("lijian/blocked", 0) > 0
    assert run.status == "finished"
    for flavour in "abd":  # retried 5xx/429 responses count in the profile's HTTP error rate
        assert 0 < run.health[f"sandbox-{flavour}"]["http_error_rate"] < 1


def test_prices_are_decimal_with_iso_currency(sandbox, db_url, sessions):
    crawl(sandbox.url, db_url, "--site", "b", "--category", "steel")
    with sessions() as session:
        prices = session.execute(select(ListingSnapshot.price, ListingSnapshot.currency)).all()
    assert prices and all(isinstance(p, Decimal) and c == "CNY" for p, c in prices)


def test_unknown_category_and_bad_url_are_usage_errors(db_url):
    bad = run_lijian("crawl", "--sandbox", "http://127.0.0.1:9", "--category", "nonsense", "--db", db_url)
    assert bad.returncode == 2 and "unknown category 'nonsense'" in bad.stderr
    bad = run_lijian("crawl", "--sandbox", "file:///etc/passwd", "--db", db_url)
    assert bad.returncode == 2 and "must start with http" in bad.stderr


def test_interrupted_crawl_is_recorded_and_leaves_consistent_rows(sandbox, db_url, sessions):
    import signal
    import subprocess

    from tests.conftest import LIJIAN

    process = subprocess.Popen([*LIJIAN, "crawl", "--sandbox", sandbox.url, "--db", db_url, "--site", "a",
                                "--log-level", "DEBUG"], stderr=subprocess.PIPE, text=True)
    for line in process.stderr:  # wait on the event: the first listing scraped
        if "Scraped from" in line:
            break
    process.send_signal(signal.SIGINT)
    process.stderr.read()
    assert process.wait(timeout=60) != 0  # an interrupted crawl is not a success
    with sessions() as session:
        run = session.scalars(select(CrawlRun)).one()
        listings = session.scalar(select(func.count()).select_from(Listing))
        snapshots = session.scalar(select(func.count()).select_from(ListingSnapshot))
    assert run.status == "interrupted" and run.finished_at is not None
    assert 0 < listings == snapshots == run.listings_new


def test_shop_pages_give_each_seller_its_contact(sandbox, db_url, sessions):
    crawl(sandbox.url, db_url, "--site", "d", "--category", "cable")
    catalog = build_catalog(sandbox.listings, sandbox.seed)
    want = {l.seller.id: l.seller.phone for l in catalog.listings if l.flavour == "d" and l.category == "cable"}
    with sessions() as session:
        got = dict(session.execute(select(Seller.seller_key, Seller.phone).where(Seller.marketplace == "sandbox-d")).all())
        run = session.scalars(select(CrawlRun)).one()
    assert want and got == want
    assert run.items_scraped == sum(1 for l in catalog.listings if l.flavour == "d" and l.category == "cable")


@pytest.mark.browser
def test_javascript_flavour_under_faults_still_collects_every_listing(db_url, sessions):
    # 5xx/429/captcha/truncated pages reach Chromium too, and the page's own API calls fail
    # (app.js then marks the page data-error): each is retried until the listing is read.
    faulty = start_sandbox("--faults", "5xx,429,truncate,captcha,slow", "--fault-rate", "0.25")
    try:
        crawl(faulty.url, db_url, "--site", "c", "--category", "cable")
    finally:
        stop_sandbox(faulty)
    assert stored(sessions, "sandbox-c") == expected(faulty, "c", {"cable"})
    with sessions() as session:
        run = session.scalars(select(CrawlRun)).one()
    assert run.status == "finished" and run.stats.get("retry/count", 0) > 0
    assert run.health["sandbox-c"]["coverage"]["price"] == 1.0


def test_crawl_health_is_recorded_and_a_changed_layout_marks_the_run_degraded(sandbox, db_url, sessions, tmp_path):
    import shutil

    from crawler.profiles import BUNDLED_PROFILES

    crawl(sandbox.url, db_url, "--site", "a")
    # The site "changes its layout": the price is no longer where the profile looks.
    changed = tmp_path / "profiles"
    shutil.copytree(BUNDLED_PROFILES, changed)
    profile = changed / "sandbox-a.yaml"
    text = profile.read_text(encoding="utf-8")
    start = text.index("    price: [\"xpath:concat(")
    profile.write_text(text[:start] + '    price: ["css:div.price-2026"]\n' + text[text.index("\n", start) + 1:],
                       encoding="utf-8")
    crawl(sandbox.url, db_url, "--site", "a", "--profiles", str(changed))
    with sessions() as session:
        first, second = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
    healthy = first.health["sandbox-a"]
    assert healthy["coverage"]["title"] == healthy["coverage"]["price"] == healthy["coverage"]["seller_name"] == 1.0
    assert healthy["listings"] == len(expected(sandbox, "a")) >= 5 and healthy["results_per_page"] > 0
    assert healthy["block_rate"] == healthy["http_error_rate"] == 0.0 and not first.degraded
    assert second.degraded and second.health["sandbox-a"]["coverage"]["price"] == 0.0
    assert "sandbox-a: price coverage 0% against 100% in recent runs" in second.degraded_reason
    listing = run_lijian("runs", "--db", db_url)
    assert listing.returncode == 0 and "finished (degraded)" in listing.stdout
    shown = run_lijian("runs", "show", str(second.id), "--db", db_url)
    assert shown.returncode == 0 and "degraded: sandbox-a: price coverage 0%" in shown.stdout
    assert "sandbox-a" in shown.stdout and "100%" in shown.stdout
    missing = run_lijian("runs", "show", "999", "--db", db_url)
    assert missing.returncode == 1 and "no crawl run 999" in missing.stderr


def test_generic_shop_spider_collects_a_shop_without_a_profile(sandbox, db_url, sessions):
    catalog = build_catalog(sandbox.listings, sandbox.seed)
    seller = next(l.seller for l in catalog.listings if l.flavour == "d")
    wanted = {str(l.id): (clean_text(l.title), l.price) for l in catalog.listings
              if l.flavour == "d" and l.seller.id == seller.id}
    item = next(l for l in catalog.listings if l.flavour == "a")
    result = run_lijian("crawl-shop", f"{sandbox.url}/d/shop/{seller.id}", sandbox.url + item.path,
                        "--depth", "1", "--generic", "--db", db_url)
    assert result.returncode == 0, result.stderr[-3000:]
    with sessions() as session:
        rows = session.execute(select(Listing.marketplace, Listing.listing_key, ListingSnapshot.title,
                                      ListingSnapshot.price, ListingSnapshot.currency)
                               .join(ListingSnapshot, ListingSnapshot.listing_id == Listing.id)).all()
    assert {r.marketplace for r in rows} == {"shop:127.0.0.1"} and all(r.currency == "CNY" for r in rows)
    # The shop's products by their schema.org sku; the plain page by its path; no list page taken for one.
    got = {r.listing_key: (r.title, r.price) for r in rows}
    assert got == {**wanted, item.path: (clean_text(item.title), item.price)}


def test_crawl_shop_refuses_what_is_not_a_web_address(db_url):
    bad = run_lijian("crawl-shop", "file:///etc/passwd", "--db", db_url)
    assert bad.returncode == 2 and "must start with http:// or https://" in bad.stderr


@pytest.mark.browser
def test_screenshots_of_javascript_pages_are_stored_content_addressed(sandbox, db_url, sessions, tmp_path):
    from PIL import Image

    out = tmp_path / "out"
    result = run_lijian("crawl", "--sandbox", sandbox.url, "--db", db_url, "--site", "c", "--category", "cable",
                        "--screenshots", env={"LIJIAN_OUT": str(out)})
    assert result.returncode == 0, result.stderr[-3000:]
    with sessions() as session:
        raws = session.scalars(select(ListingSnapshot.raw)).all()
    assert raws and all(r.get("screenshot_path") for r in raws)
    for raw in raws:
        path = Path(raw["screenshot_path"])
        assert path.parent == out / "screenshots" and path.stem == raw["screenshot_sha256"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == raw["screenshot_sha256"]
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 300
            low, high = image.convert("L").getextrema()
            assert high - low > 100  # text on a background, not a blank page
