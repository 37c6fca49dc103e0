"""Which pages are one product's: decided by the page's structure (crawler/extract/structure.py),
not by how many prices it shows."""

from __future__ import annotations

import pytest

from crawler.extract.product import extract_product
from crawler.extract.structure import page_structure


def card(n: int, form: bool = False) -> str:
    buy = f"<form action='/basket/add/{n}/' method='post'><button>Add to basket</button></form>" if form else ""
    return (f"<li class='col-sm-3 product'><a href='/catalogue/p-{n}/'><img src='/i/{n}.jpg'>Toy {n}</a>"
            f"<p class='price_color'>£{n}.00</p>{buy}</li>")


def page(main: str, cards: int = 0, card_forms: bool = False) -> str:
    related = f"<ol class='row'>{''.join(card(n, card_forms) for n in range(1, cards + 1))}</ol>" if cards else ""
    return (f"<html><head><title>Shop</title></head><body><header><form action='/search/'><input name='q'>"
            f"<button>Search</button></form></header><main>{main}</main><aside>{related}</aside></body></html>")


PRODUCT = ("<h1>Wooden train 60337</h1><p class='price_color'>£48.99</p>"
           "<form action='/basket/add/9/' method='post'><input name='quantity'><button>Add to basket</button></form>")


@pytest.mark.parametrize("html, one", [
    (page(PRODUCT), True),
    (page(PRODUCT, cards=12, card_forms=True), True),  # twenty prices, still one product
    (page("<h1>Toys</h1>", cards=12, card_forms=True), False),  # a category grid: its buy forms are in the cards
    (page("<h1>Toys</h1>", cards=12), False),
    (page("<h1>Wooden train</h1><p class='error-msg'>This product is currently unavailable.</p>", cards=3), True),
    # A review form beside the product's summary is no buy form.
    (page("<h1>Write a review of Wooden train</h1><p class='price_color'>£48.99</p><form action="
          "'/catalogue/p-9/reviews/add/' method='post'><input name='title'><textarea name='body'></textarea>"
          "<button type='submit'>Save review</button></form>"), False),
    # Sold-out words inside prose are no stock statement.
    (page("<h1>Delivery</h1><p>" + "We ship every weekday; " * 12 + "delivery is unavailable on holidays.</p>"), False),
    (page("<h2>No heading</h2><form action='/cart/add'><button>Buy</button></form>"), False),
    ("<<<not html at all", False),
])
def test_one_product_is_told_by_structure(html, one):
    assert page_structure(html).one_product is one


def test_a_sold_out_page_never_takes_a_related_products_price_or_a_title_model_number():
    html = page("<h1>LEGO City Fire Station 60337</h1><p class='error-msg'>This product is currently unavailable.</p>"
                "<p>LEGO City Fire Station 60337: ships in two days.</p>", cards=3)
    product = extract_product(html, "https://shop.example/catalogue/lego-city-fire-station-60337/")
    assert product.price is None and product.availability == "OutOfStock"
    assert product.sku is None  # the model number in the title and the slug is no SKU
