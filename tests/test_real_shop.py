"""The generic shop crawler on a shop nobody here wrote: Cartridge (the shop of the Mezzanine
CMS, tests/shops/cartridge/), installed by `make setup` into .venv-shop and started on
127.0.0.1 with 60 products of five campaign areas: genuine goods beside look-alikes with the
same model number in their titles, 8 sold out, 10 on sale (a struck price beside the price paid),
related products with their prices on every product page, categories of 8 per page, and a
sitemap that names the wrong host (Django's default "example.com", as many shops leave it).

Crawled with no profile, the crawl must find the products through category and pagination
links, store each once, read the product code only where the page labels one, and store no
page that is not a product's; through a catalogue profile, all 60."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.storage.db import open_database, session_factory
from crawler.storage.models import Listing, ListingSnapshot
from tests.conftest import run_lijian

ROOT = Path(__file__).resolve().parent.parent
SHOP_PYTHON = ROOT / ".venv-shop" / "bin" / "python"


@pytest.fixture(scope="module")
def cartridge(tmp_path_factory):
    """(base URL, truth by path) of a running Cartridge shop."""
    if not SHOP_PYTHON.exists():
        pytest.fail("the test shop is not installed: run `make setup` (it builds .venv-shop)")
    folder = tmp_path_factory.mktemp("cartridge")
    process = subprocess.Popen([str(SHOP_PYTHON), str(ROOT / "tests" / "shops" / "cartridge" / "serve.py"), str(folder)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")})
    try:
        line = process.stdout.readline()  # blocks until the shop listens (or dies)
        if not line.startswith("serving "):
            pytest.fail(f"the test shop did not start: {line}{process.stderr.read()[-3000:]}")
        truth = {row["path"]: row for row in json.loads((folder / "truth.json").read_text(encoding="utf-8"))}
        yield line.split()[1], truth
    finally:
        process.terminate()
        process.wait(timeout=30)


def stored(db_url: str, base: str) -> dict[str, tuple]:
    """path → (listing key, sku, price, availability) of the newest snapshot of each listing."""
    with session_factory(open_database(db_url))() as session:
        rows = session.execute(select(Listing.url, Listing.listing_key, ListingSnapshot.price, ListingSnapshot.raw)
                               .join(ListingSnapshot, ListingSnapshot.listing_id == Listing.id)
                               .order_by(ListingSnapshot.id)).all()
    newest: dict[str, tuple] = {}
    for url, key, price, raw in rows:
        newest[url.removeprefix(base)] = (key, raw.get("sku"), price, raw.get("availability"))
    return newest


def score(found: dict[str, tuple], truth: dict[str, dict]) -> dict[str, float]:
    products = [path for path in found if path in truth]
    right = lambda test: sum(1 for path in products if test(found[path], truth[path])) / max(len(products), 1)  # noqa: E731
    return {
        "products": len(products),
        "not_products": sorted(path for path in found if path not in truth),
        "keys": len({found[path][0] for path in products}),
        "sku": right(lambda got, want: got[1] == want["sku_shown"]),
        "price": right(lambda got, want: (got[2] is None) == (want["price"] is None)
                       and (got[2] is None or Decimal(str(got[2])) == Decimal(want["price"]))),
        "availability": right(lambda got, want: got[3] == want["availability"]),
    }


def test_the_generic_crawler_finds_every_product_of_a_real_shop(cartridge, db_url):
    base, truth = cartridge
    done = run_lijian("crawl-shop", f"{base}/", "--generic", "--max-pages", "200", "--db", db_url)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    result = score(stored(db_url, base), truth)
    print(json.dumps(result), file=sys.stderr)
    assert result["not_products"] == []  # no category, cart, blog or search page stored
    assert result["products"] >= 57
    assert result["keys"] == result["products"]  # no two products merged into one listing
    assert result["sku"] >= 0.90
    assert result["availability"] >= 0.95
    assert result["price"] >= 0.95


PROFILE = """
name: cartridge-shop
title: A Cartridge shop (Mezzanine), read through its catalogue
domains: [127.0.0.1]
catalogue:
  start_urls: ["{base}/toys/", "{base}/home-appliances/", "{base}/car-filters/", "{base}/wire-and-cable/",
               "{base}/fertilizer/"]
  product_links: ["css:.product-list .product-thumb > a::attr(href)"]
  next_page: ["xpath://ul[@class='pagination']/li[@class='active']/following-sibling::li[1]/a/@href"]
detail:
  fields:
    title: ["css:h1"]
    price: ["css:ul#variations li .price"]
    sku: ["xpath://ul[@id='variations']/li[1]/@id | re:^variation-(.+)$"]
    availability: ["css:p.error-msg", "css:form#add-cart input[name=add_cart]::attr(value)"]
politeness: {concurrency: 4, delay: 0, autothrottle: false}
"""


def test_a_catalogue_profile_crawls_every_product_from_category_pages(cartridge, db_url, tmp_path):
    """The profile names the category pages and the links to follow (product cards, the next
    page): all 60 products, sold-out ones included, each read by the profile's rules."""
    base, truth = cartridge
    (tmp_path / "cartridge-shop.yaml").write_text(PROFILE, encoding="utf-8")
    done = run_lijian("crawl-shop", "--profile", "cartridge-shop", "--base-url", base, "--profiles", str(tmp_path),
                      "--db", db_url)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    found = stored(db_url, base)
    result = score(found, truth)
    assert result["not_products"] == [] and result["products"] == 60 and result["keys"] == 60
    assert result["price"] == 1.0 and result["availability"] == 1.0
    # The profile reads the shop's own SKU of every product it sells; a sold-out page shows only
    # what its description labels.
    assert {path: found[path][1] for path in truth} == \
        {path: row["sku"] if row["availability"] == "InStock" else row["sku_shown"] for path, row in truth.items()}
    with session_factory(open_database(db_url))() as session:
        assert set(session.scalars(select(Listing.marketplace))) == {"cartridge-shop"}


def test_a_catalogue_crawl_needs_its_base_address_and_a_known_profile(tmp_path):
    (tmp_path / "cartridge-shop.yaml").write_text(PROFILE, encoding="utf-8")
    done = run_lijian("crawl-shop", "--profile", "cartridge-shop", "--profiles", str(tmp_path))
    assert done.returncode == 2 and "--base-url" in done.stderr and "Traceback" not in done.stderr
    done = run_lijian("crawl-shop", "--profile", "nosuch", "--base-url", "http://127.0.0.1:9", "--profiles", str(tmp_path))
    assert done.returncode == 2 and "unknown site 'nosuch'" in done.stderr
    done = run_lijian("crawl-shop")
    assert done.returncode == 2 and "give at least one URL" in done.stderr
