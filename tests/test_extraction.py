"""The generic product extractor: golden cases (a folder each), hostile input, the shared corpus."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.cli import cli
from crawler.extract.archive import read_inputs
from crawler.extract.page import extract_page
from crawler.extract.pages import decode
from crawler.extract.product import extract_product
from crawler.profiles import load_profiles
from tests.conftest import needs_corpus, run_lijian

FIXTURES = Path(__file__).parent / "fixtures" / "extraction"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "products"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
PROFILES = load_profiles()


@pytest.mark.parametrize("case", CASES)
def test_golden_case(case):
    """A folder per case: page.html as served, meta.json (url, optional profile and type), and
    expected.json — a product's fields, or the list of search results (each the fields that
    matter). Records go through the same path as `lijian extract`."""
    folder = FIXTURES / case
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    page = next(read_inputs(folder / "page.html"))
    records = extract_page(page, PROFILES, url=meta.get("url"), profile_name=meta.get("profile"),
                           page_type=meta.get("type", "auto"))
    if isinstance(expected, dict):
        assert len(records) == 1
        assert {k: records[0].get(k) for k in expected} == expected
    else:
        assert [{k: r.get(k) for k in want} for r, want in zip(records, expected)] == expected
        assert len(records) == len(expected)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes_never_crash(body):
    _, text = decode(body)
    extract_product(text, "https://x.example/p/1")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(list('<>"=/{}[]:;,. ') + ["<div", "</", "<script type=\"application/ld+json\">",
                                                            "price", "¥", "12.5", "@type", "Product", "offers"]),
                max_size=120))
def test_broken_markup_never_crashes(pieces):
    extract_product("".join(pieces), "https://x.example/p/1")


def test_extract_command_prints_json_and_counts_unreadable_files(tmp_path):
    bad = tmp_path / "broken.html.gz"
    bad.write_bytes(b"not gzip")
    result = CliRunner().invoke(cli, ["extract", str(FIXTURES / "microdata-itemprop" / "page.html"), str(bad),
                                      "--url", "https://shop.example/item/1"])
    assert result.exit_code == 1 and "1 file(s) skipped" in result.output and "not a valid gzip file" in result.output
    first = json.loads(result.output.splitlines()[0])
    assert first["price"] == "119.00" and first["sources"]["price"] == "generic: microdata" and first["page_type"] == "product"


@needs_corpus(CORPUS)
def test_shared_product_corpus_does_not_regress():
    """The extraction issue's targets (price 0.92, sku 0.85, availability 0.95; brand 0.75),
    measured as data. Reached on 2026-11-23: 0.925, 0.987, 0.962, brand 0.780 (docs/EXTRACTION.md)."""
    from crawler.extract.evaluation import evaluate_products

    report = evaluate_products(CORPUS)
    f1 = {name: score.f1 for name, score in report.scores.items()}
    assert report.pages >= 40
    assert f1["price"] >= 0.92 and f1["sku"] >= 0.85 and f1["availability"] >= 0.95 and f1["brand"] >= 0.75, f1
    assert CliRunner().invoke(cli, ["eval", "products", str(CORPUS)]).exit_code == 0

@pytest.mark.parametrize("body, expected", [
    ("<p class='availability'>Unavailable</p>", "OutOfStock"),
    ("<p class='availability'>In stock (12 available)</p>", "InStock"),
    ("<form><p>Email me when this product is back in stock</p><button>Notify me</button></form>", "OutOfStock"),
    ("<p>到货通知</p>", "OutOfStock"),
    ("<p>Unavailable in your region? No: ships worldwide.</p><button id='add-to-cart'>Add to basket</button>",
     "InStock"),
])
def test_stock_wording_a_shop_uses_for_what_cannot_be_bought(body, expected):
    page = extract_product(f"<html><body><h1>Toy train</h1><p class='price'>£12.99</p>{body}</body></html>",
                           "https://shop.example/catalogue/toy-train_1/")
    assert page.availability == expected, page.sources.get("availability")


PROFILE_YAML = """
name: tinyshop
title: A shop read by its own profile
domains: [tinyshop.example]
detail:
  generic_fallback: false
  fields:
    title: ["css:h1"]
    price: ["css:.price"]
    availability: ["css:.stock"]
"""


@pytest.mark.parametrize("price, stock, want_price, want_currency, want_stock", [
    ("¥129.00", "In stock (50 available)", "129.00", "CNY", "InStock"),
    ("￥149.00 - 159.00", "有货", "149.00-159.00", "CNY", "InStock"),
    ("12,44 €", "Unavailable", "12.44", "EUR", "OutOfStock"),
    ("£48.99", "https://schema.org/PreOrder", "48.99", "GBP", "PreOrder"),
])
def test_a_profile_s_values_come_out_in_the_same_form_as_the_generic_reading(tmp_path, price, stock, want_price,
                                                                               want_currency, want_stock):
    (tmp_path / "tinyshop.yaml").write_text(PROFILE_YAML, encoding="utf-8")
    html = f"<html><body><h1>Wooden train</h1><p class='price'>{price}</p><p class='stock'>{stock}</p></body></html>"
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    page = next(read_inputs(tmp_path / "page.html"))
    (record,) = extract_page(page, load_profiles(tmp_path), url="https://tinyshop.example/p/1", page_type="product")
    assert (record["price"], record["currency"], record["availability"]) == (want_price, want_currency, want_stock)
    assert record["price_shown"] == price  # what the page showed stays beside it


CN = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "cn-marketplaces"


@needs_corpus(CN)
def test_the_chinese_marketplace_pages_are_scored_per_field_and_marketplace():
    """`lijian eval cn`: the figures as measured (docs/EXTRACTION.md), as floors, so that a change
    that loses ground shows; the search figures are the issue's bar (recall 0.9, precision 0.95)."""
    from crawler.extract.evaluation import evaluate_cn

    report = evaluate_cn(CN)
    assert report.pages == 26 and set(report.markets) == {"jd", "taobao", "tmall", "pinduoduo", "1688"}
    jd, taobao, tmall = report.markets["jd"], report.markets["taobao"], report.markets["tmall"]
    assert jd.recall >= 0.95 and jd.precision >= 0.95 and jd.search["price"].share == 1.0
    assert jd.search["title"].share == 1.0  # without the promo slogan beside it
    for name, market in report.markets.items():
        if market.expected:
            assert market.recall >= 0.9 and market.precision >= 0.95, name
            assert market.search["title"].share >= 0.95 and market.search["price"].share >= 0.95, name
    assert taobao.detail["title"].share == 1.0 and taobao.detail["price"].share == 1.0
    assert tmall.detail["title"].share == 1.0 and tmall.detail["price"].share == 1.0  # item-data JSON included
    # Item ids from the page itself: these saved pages carry no URL.
    assert all(m.detail["item_id"].share == 1.0 for m in (jd, taobao, tmall))
    result = run_lijian("eval", "cn", str(CN))
    assert result.returncode == 0 and "pinduoduo" in result.stdout and "26 pages" in result.stdout


def test_a_login_wall_saved_without_its_address_is_no_product(tmp_path):
    saved = tmp_path / "login.html"
    saved.write_text("<html><head><meta charset='utf-8'><title>京东-欢迎登录</title></head><body>"
                     "<form id='formlogin'><input name='loginname'><input type='password'></form></body></html>",
                     encoding="utf-8")
    (record,) = extract_page(next(read_inputs(saved)), PROFILES, profile_name="jd", page_type="auto")
    assert record["page_type"] == "blocked" and record["blocked"] == "login" and "title" not in record


@pytest.mark.parametrize("head, want", [
    ("<title>纯棉四件套 床单被套-淘宝网</title>", "纯棉四件套 床单被套"),
    ("<title>【小米13】小米 13 5G手机【行情 报价 价格 评测】-京东</title>", "【小米13】小米 13 5G手机"),
    ("<title>天猫Tmall.com</title>", None),  # only the site's name: no title at all
    ("<title>Faux fur throw | John Lewis</title>", "Faux fur throw | John Lewis"),  # a shop's own name stays
])
def test_a_title_read_from_the_page_title_loses_the_marketplace_name(head, want):
    assert extract_product(f"<html><head>{head}</head><body><p>¥12.00</p></body></html>",
                           "https://shop.example/p/1").title == want


def test_the_buyer_s_price_is_the_platform_price_over_a_struck_list_price():
    from crawler.extract.visible import chinese_prices

    selling, _ = chinese_prices("价格 ¥258.00 淘宝价 ¥146.00 月销量 120")
    assert selling == Decimal("146.00")


_RULE_PAGE = """<html><head><title> 商品 </title></head><body>
<div class="item  card" data-id="42"><h1>美的\u200b 电饭煲\n  MB-30</h1><span class="price">￥199.00</span>
<a href="/shop/7" title="旗舰店">进店</a><!-- note --><p>第一段</p><p>第二段<b>粗</b></p></div>
<form id="captcha-form"></form><ul><li>a</li><li></li></ul></body></html>"""


@pytest.mark.parametrize("expression", [
    "//h1", "//h1/text()", "//a/@href", "//a/@title", "//p", "//p[2]", "//li", "//li[2]", "//nothing",
    "count(//p)", "boolean(//form)", "string(//span)", "concat(//span, '元')", "//div/@data-id",
    "//div[re:test(@class, 'card')]//span", "//div[has-class('item')]/h1",
    "descendant-or-self::span[@class = 'price']", "normalize-space(//h1)",
])
def test_compiled_rules_read_what_parsel_reads(expression):
    """first_text (XPath compiled once, evaluated on the lxml tree) gives exactly what the text
    of parsel's first match gives, for elements, attributes, text nodes, scalars and no match."""
    from parsel import Selector

    from crawler.extract.rules import first_text, node_text

    selector = Selector(text=_RULE_PAGE)
    matches = selector.xpath(expression)
    assert first_text(selector, expression) == (node_text(matches[0]) if matches else None)
    for node in selector.xpath("//div | //ul"):  # relative to an inner node, as for result cards
        relative = "." + expression if expression.startswith("//") else expression
        matches = node.xpath(relative)
        assert first_text(node, relative) == (node_text(matches[0]) if matches else None)


def test_a_rule_that_selects_a_comment_reads_its_text():
    from parsel import Selector

    from crawler.extract.rules import Context, compile_rule, evaluate

    assert evaluate(compile_rule("xpath://comment()"), Context(Selector(text=_RULE_PAGE), None, "")) == "note"


@pytest.mark.parametrize("css", ["form#captcha-form", "form#other", ".card", "div.item.card > h1", "li:empty",
                                 "a[href^='/shop']", "p + p b", "nothing"])
def test_block_selectors_match_as_parsel_css(css):
    from parsel import Selector

    from crawler.extract.rules import has_match

    selector = Selector(text=_RULE_PAGE)
    assert has_match(selector, css) == bool(selector.css(css))
