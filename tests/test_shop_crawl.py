"""The generic shop crawler's budget and manners: the page budget counts pages fetched (a page
linked many times counts once), and no cookie travels between pages of a shop without a
profile (a "recently viewed" block the crawl's own cookies would fill changes what later
pages show)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crawler.storage.db import open_database, session_factory
from crawler.storage.models import CrawlRun, Listing
from tests.conftest import HTML, loopback_site, run_lijian

PRODUCTS = 12


def product_page(number: int, viewed: list[str]) -> str:
    # Like django-oscar: with the visitor's cookie, a "recently viewed" block lists other products
    # with their prices; a product page then shows many prices.
    recent = "".join(f"<li><a href='/catalogue/p-{v}/'>product {v}</a> <p class='price_color'>£{v}.00</p></li>"
                     for v in viewed)
    return (f"<html><head><title>Product {number}</title></head><body><h1>Wooden toy {number}</h1>"
            f"<p class='price_color'>£{number}.50</p><p class='availability'>In stock</p>"
            f"<form action='/basket/add/{number}/' method='post'><button type='submit'>Add to basket</button></form>"
            f"<ul class='recently-viewed'>{recent}</ul></body></html>")


def index_page() -> str:
    links = "".join(f"<a href='/catalogue/p-{n}/'>toy {n}</a><a href='/catalogue/p-{n}/#reviews'>reviews</a>"
                    f"<a href='/catalogue/p-{n}/'>again</a>" for n in range(1, PRODUCTS + 1))
    return f"<html><body><h1>All products</h1>{links}</body></html>"


def shop(path, headers, base):
    viewed = [v for v in (headers.get("Cookie") or "").replace("viewed=", "").split("|") if v.isdigit()]
    if path in ("/", "/index.html"):
        return 200, index_page(), HTML
    if path.startswith("/catalogue/p-"):
        number = path.split("p-")[1].strip("/")
        cookie = "|".join([*viewed, number])
        return 200, product_page(int(number), viewed[-5:]), [*HTML, ("Set-Cookie", f"viewed={cookie}; Path=/")]
    if path == "/robots.txt":
        return 200, "User-agent: *\nAllow: /\n", HTML
    return 404, b"", []


def test_every_product_within_the_budget_and_no_cookie_between_pages(db_url):
    with loopback_site(shop) as base:
        # The index and its 12 products: 13 pages. Each product is linked three times.
        done = run_lijian("crawl-shop", f"{base}/", "--max-pages", str(PRODUCTS + 1), "--depth", "1", "--generic",
                          "--db", db_url)
        assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    with session_factory(open_database(db_url))() as session:
        stored = session.scalar(select(func.count()).select_from(Listing))
        run = session.scalar(select(CrawlRun))
    assert stored == PRODUCTS  # every product page, none taken for a list page
    # The index and the products once each, plus robots.txt (read by Scrapy, and by the crawl for its
    # sitemaps) and the /sitemap.xml it tried: no page fetched twice for duplicate links.
    assert run.pages == PRODUCTS + 4


def test_crawl_shop_through_a_matching_profile_stores_what_the_profile_reads(sandbox, db_url):
    """A page a site profile covers is read by the profile; its availability rule is no generic
    "buy button", and such pages used to be dropped: nothing was stored."""
    from crawler.sandbox.catalog import build_catalog

    item = next(listing for listing in build_catalog(sandbox.listings, sandbox.seed).listings if listing.flavour == "a")
    done = run_lijian("crawl-shop", sandbox.url + item.path, "--depth", "0", "--db", db_url)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    with session_factory(open_database(db_url))() as session:
        rows = session.execute(select(Listing.marketplace, Listing.listing_key)).all()
    assert [tuple(row) for row in rows] == [("sandbox-a", str(item.id))]


def test_the_products_a_shop_lists_only_in_its_sitemap_are_crawled(db_url):
    """Products no page links to, listed in a sitemap that a sitemap index names, which
    robots.txt names: all of them are found."""
    products = {f"/catalogue/hidden-{n}/": product_page(n, []) for n in range(1, 9)}

    def mapped(path, headers, base):
        pages = {"/": "<html><body><h1>Welcome</h1><p>No links to products here.</p></body></html>",
                 "/robots.txt": f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap-index.xml\n",
                 "/sitemap-index.xml": ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/'
                                        f'schemas/sitemap/0.9"><sitemap><loc>{base}/sitemap-products.xml</loc>'
                                        "</sitemap></sitemapindex>"),
                 "/sitemap-products.xml": ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/'
                                           'sitemap/0.9">' + "".join(f"<url><loc>{base}{path}</loc></url>"
                                                                     for path in products) + "</urlset>"),
                 **products}
        body = pages.get(path)
        kind = [("Content-Type", "application/xml")] if path.endswith(".xml") else HTML
        return (200 if body else 404), body or "not found", kind

    with loopback_site(mapped) as base:
        done = run_lijian("crawl-shop", f"{base}/", "--depth", "1", "--generic", "--db", db_url)
        assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    with session_factory(open_database(db_url))() as session:
        keys = set(session.scalars(select(Listing.listing_key)))
    assert keys == set(products)


CATEGORY_PROFILE = """
name: toyshop
title: A toy shop read by its own profile
domains: [127.0.0.1]
categories:
  积木: children
  汽车滤清器: auto_parts
detail:
  generic_fallback: false
  fields:
    title: ["css:h1"]
    price: ["css:.price"]
    category_label: ["css:.crumbs"]
"""


def test_a_profile_maps_the_site_s_category_names_to_ours(tmp_path, db_url):
    from crawler.profiles import load_profiles

    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "toyshop.yaml").write_text(CATEGORY_PROFILE, encoding="utf-8")
    profile = load_profiles(folder)["toyshop"]
    assert profile.category_of("玩具乐器 > 积木拼插") == "children" and profile.category_of("图书") is None

    def toys(path, headers, base):
        return (200 if path.startswith("/p/") else 404), (
            "<html><body><div class='crumbs'>玩具乐器 &gt; 积木拼插</div><h1>城市列车 积木 60337</h1>"
            "<p class='price'>¥199.00</p></body></html>"), HTML

    with loopback_site(toys) as base:
        done = run_lijian("crawl-shop", f"{base}/p/1", "--depth", "0", "--db", db_url,
                          env={"LIJIAN_PROFILES": str(folder)})
        assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    with session_factory(open_database(db_url))() as session:
        rows = session.execute(select(Listing.marketplace, Listing.category)).all()
    assert [tuple(r) for r in rows] == [("toyshop", "children")]  # category rules now apply to it


def test_a_profile_mapping_to_no_category_is_refused_before_the_crawl(tmp_path):
    from crawler.crawlspec import CrawlSpec, SpecError, check
    from crawler.profiles import load_profiles

    text = CATEGORY_PROFILE.replace("auto_parts", "car_bits") + """search:
  url: "{base}/s?q={keyword}&page={page}"
  cards: ["css:li"]
  fields:
    title: ["css:a"]
    url: ["css:a::attr(href)"]
"""
    (tmp_path / "toyshop.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match="maps a site category to 'car_bits'"):
        check(CrawlSpec.of(sites="toyshop", base_url="http://127.0.0.1:1"), load_profiles(tmp_path))


def test_a_catalogue_profile_reads_its_sitemap_and_its_category_pages(tmp_path, db_url):
    """A profile's catalogue with both: the products its sitemap names (stored by their own
    structure) and those its category page links to (by its product-link rule); the category
    page itself is never a listing."""
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "toys.yaml").write_text(
        "name: toys\ntitle: toys\ndomains: [127.0.0.1]\ncatalogue:\n  start_urls: ['{base}/category/']\n"
        "  sitemaps: ['{base}/products.xml']\n  product_links: ['css:a.card::attr(href)']\n", encoding="utf-8")
    listed = {f"/catalogue/p-{n}/": product_page(n, []) for n in (1, 2, 3)}
    mapped = {f"/catalogue/p-{n}/": product_page(n, []) for n in (4, 5)}

    def shop_with_both(path, headers, base):
        pages = {"/category/": "<html><body><h1>Toys</h1>" + "".join(
                     f"<a class='card' href='{p}'>toy</a><p class='price_color'>£1.00</p>" for p in listed) + "</body></html>",
                 "/products.xml": ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                                   + "".join(f"<url><loc>{base}{p}</loc></url>" for p in mapped) + "</urlset>"),
                 "/robots.txt": "User-agent: *\nAllow: /\n", **listed, **mapped}
        body = pages.get(path)
        kind = [("Content-Type", "application/xml")] if path.endswith(".xml") else HTML
        return (200 if body else 404), body or "not found", kind

    with loopback_site(shop_with_both) as base:
        done = run_lijian("crawl-shop", "--profile", "toys", "--base-url", base, "--profiles", str(folder),
                          "--db", db_url)
        assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    with session_factory(open_database(db_url))() as session:
        keys = set(session.scalars(select(Listing.listing_key)))
    assert keys == set(listed) | set(mapped)
