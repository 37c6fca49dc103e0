from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.normalise import clean_text, iso_currency, parse_price, split_location


@pytest.mark.parametrize("shown, amount, currency", [
    ("¥199.00", "199.00", "CNY"),
    ("￥985.30元", "985.30", "CNY"),
    ("199元", "199.00", "CNY"),
    ("RMB 1,299.00", "1299.00", "CNY"),
    ("1.2万元", "12000.00", "CNY"),
    ("¥12.5-19.9", "12.50", "CNY"),  # a range gives its lower bound
    ("券后¥59", "59.00", "CNY"),
    ("$5.99", "5.99", "USD"),
])
def test_prices_as_shown_on_chinese_and_other_pages(shown, amount, currency):
    assert parse_price(shown) == (Decimal(amount), currency)


@pytest.mark.parametrize("shown", ["", None, "面议", "price on request"])
def test_no_price_is_none_not_zero(shown):
    assert parse_price(shown) == (None, None)


@pytest.mark.parametrize("shown, expected", [
    ("广东 佛山", ("广东", "佛山")),
    ("广东省佛山市", ("广东", "佛山")),
    ("广东佛山", ("广东", "佛山")),
    ("上海", ("上海", "上海")),
    ("内蒙古呼和浩特", ("内蒙古", "呼和浩特")),
    ("Atlantis", (None, None)),
])
def test_seller_location_split_into_province_and_city(shown, expected):
    assert split_location(shown) == expected


def test_clean_text_drops_invisible_and_bidi_characters():
    assert clean_text("美\u200b的  电\u202e饭\n煲\x07") == "美的 电饭 煲"


@given(st.text())
def test_clean_text_never_fails_and_is_one_trimmed_line(text):
    out = clean_text(text)
    assert "\n" not in out and out == out.strip() and "  " not in out


@given(st.text())
def test_parse_price_never_fails_and_amount_is_decimal(text):
    amount, currency = parse_price(text)
    assert amount is None or isinstance(amount, Decimal)
    assert currency is None or len(currency) == 3


@pytest.mark.parametrize("shown, url, code", [
    ("$", "https://www.paris.cl/p/1", "CLP"), ("$", "https://shop.example.com/p", "USD"), ("eur", "", "EUR"),
    ("￥", "", "CNY"), ("元", "", "CNY"), ("RMB", "", "CNY"), ("US$", "", "USD"), ("R$", "", "BRL"),
    ("NT$", "", "TWD"), ("zł", "", "PLN"), ("", "", None), ("dragons", "", None),
])
def test_currencies_as_iso_4217(shown, url, code):
    assert iso_currency(shown, url) == code
