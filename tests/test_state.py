"""Products in embedded state found by shape, whatever the variable is called: pages made here
in the layouts the Chinese marketplaces used (not copies of their pages)."""

from __future__ import annotations

import json

import pytest

from crawler.extract.state import json_values, state_cards

GOODS = [{"goods_id": 100000 + n, "goods_name": f"纯棉四件套 床单被套 {n}号", "min_group_price": 5800 + n,
          "normal_price": 6800, "mall_name": f"家纺旗舰店{n}"} for n in range(5)]
AUCTIONS = [{"nid": str(530000000 + n), "raw_title": f"回力 帆布鞋 男款 {n}", "view_price": f"{59 + n}.00",
             "nick": f"回力店{n}"} for n in range(4)]
OFFERS = [{"offerid": str(718000000000 + n), "title": f"Type-c<font color=red>数据线</font> {n}米", "price": 0.0,
           "discountPrice": {"price": 1.74 + n, "zkPrice": 1.71}, "loginId": f"电子厂{n}"} for n in range(3)]
NOISE = {"config": {"env": "prod", "abtest": [1, 2, 3]}, "menu": [{"id": 12345, "name": "首页"}, {"id": 12346, "name": "我的"}]}


@pytest.mark.parametrize("page", [
    "<html><script>window.rawData = " + json.dumps({"store": {"goodsList": GOODS}, **NOISE}, ensure_ascii=False)
    + ";\nwindow.other = 1;</script></html>",
    '<html><script id="__NEXT_DATA__" type="application/json">'
    + json.dumps({"props": {"pageProps": {"data": {"list": [{"goodsModel": g} for g in GOODS]}}}, **NOISE},
                 ensure_ascii=False) + "</script></html>",
    json.dumps({"result": {"goods_list": GOODS}, **NOISE}, ensure_ascii=False),  # an API response
])
def test_pinduoduo_goods_in_any_state_with_prices_in_fen(page):
    cards = state_cards(page)
    assert [c["item_id"] for c in cards] == [str(g["goods_id"]) for g in GOODS]
    assert cards[0] == {"title": "纯棉四件套 床单被套 0号", "item_id": "100000", "price": "58.00", "seller_name": "家纺旗舰店0"}


def test_taobao_auctions_in_g_page_config():
    page = ("<script>g_page_config = " + json.dumps({"mods": {"itemlist": {"data": {"auctions": AUCTIONS}}}},
                                                     ensure_ascii=False) + ";\ng_srp_loadCss();</script>")
    cards = state_cards(page)
    assert [(c["item_id"], c["price"], c["seller_name"]) for c in cards][:2] == [
        ("530000000", "59.00", "回力店0"), ("530000001", "60.00", "回力店1")]


def test_1688_offers_in_page_config_with_markup_in_titles():
    page = ('<script>window.data.pageConfig = {"keywords":"数据线","listOffer":'
            + json.dumps(OFFERS, ensure_ascii=False) + ',"tracerId":"x"};</script>')
    cards = state_cards(page)
    assert cards[0] == {"title": "Type-c数据线 0米", "item_id": "718000000000", "price": "1.74", "seller_name": "电子厂0"}


def test_configuration_menus_and_broken_scripts_are_no_products():
    page = ("<script>var cfg = " + json.dumps(NOISE) + "; var broken = {a: 1, 'b': [};"
            "window.x = {\"list\": [{\"id\": 1}, {\"id\": 2}]};</script>")
    assert state_cards(page) == []
    assert json_values("{not json") == [] and state_cards("") == []


def test_a_search_page_whose_profile_rules_find_nothing_falls_back_to_its_state():
    from parsel import Selector

    from crawler.extract.search import extract_search
    from crawler.profiles import load_profiles

    page = "<html><body><div id='app'></div><script>window.rawData = " + json.dumps(
        {"store": {"data": {"list": GOODS}}}, ensure_ascii=False) + ";</script></body></html>"
    found = extract_search(Selector(text=page), "https://mobile.yangkeduo.com/search_result.html?search_key=x",
                           load_profiles()["pinduoduo"], page)
    assert len(found.results) == len(GOODS)
    assert found.results[0]["url"] == "https://mobile.yangkeduo.com/goods.html?goods_id=100000"


def test_a_product_page_whose_product_is_only_in_its_state():
    """Tmall's item-data layout: the product, the seller and nested prices in `_DATA_Detail`."""
    from crawler.extract.state import state_product

    detail = {"seller": {"userId": 1648683338, "shopName": "卡贝琳服饰旗舰店", "shopUrl": "//kabeilin.m.tmall.com"},
              "item": {"itemId": 583789686010, "title": "法式复古红色针织连衣裙", "images": ["//img/1.jpg"]},
              "mock": {"price": {"price": {"priceText": "258.00", "priceTitle": "价格"}}},
              "props": {"groupProps": [{"基本信息": [{"品牌": "卡贝琳"}]}]}}
    page = "\n\nvar _DATA_Detail = " + json.dumps(detail, ensure_ascii=False, indent=2) + ";\nvar _DATA_Mdskip = {};"
    assert state_product(page) == {"title": "法式复古红色针织连衣裙", "listing_key": "583789686010", "price": "258.00",
                                   "seller_name": "卡贝琳服饰旗舰店"}
    assert state_product("<html><body><h1>No state</h1></body></html>") == {}
