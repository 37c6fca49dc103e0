"""The first matchers: each signal fires on what it should, with its explanation."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers import ALGORITHM, ListingView, build_matchers, score_listing
from matchers.brands import BrandMatcher
from matchers.certs import CertificationMatcher, well_formed
from watchlists import load_watchlists

WATCHLISTS = load_watchlists()
MATCHERS = build_matchers(WATCHLISTS)


def score(title, brand=None, category=None, specs=None):
    return score_listing(ListingView(title=title, brand=brand, category=category, specs=specs or {}),
                         MATCHERS, WATCHLISTS.content_hash)


GOOD_CCC = {"3C证书编号": "2018010707123456"}


@pytest.mark.parametrize("title, brand, category, imitated", [
    ("美旳 电饭煲 MB-12", "美旳", "appliance", "美的"),
    ("苏伯尔 电水壶", None, "appliance", "苏泊尔"),
    ("GBEE 空调 KFR-35", "GBEE", "appliance", "格力"),
    ("博士 机油滤芯 OC90", "博士", "auto_parts", "博世"),
    ("美的家 电饭煲", "美的家", "appliance", "美的"),
])
def test_lookalike_brand_names_are_flagged_as_lookalike_of_the_genuine_brand(title, brand, category, imitated):
    result = score(title, brand, category, GOOD_CCC)
    assert result.flagged and result.lookalike_of == imitated
    signal = next(s for s in result.signals if s.name == "brand_lookalike")
    assert imitated in signal.detail and signal.listing_value and signal.watchlist_value


@pytest.mark.parametrize("title, brand, category, named", [
    ("美的 电饭煲 MB-12", "美的", "appliance", "美的"),
    ("曼牌 机油滤芯 W719", "曼牌", "auto_parts", "曼牌"),  # 牌 is part of this name
    ("熊猫牌电线 BV2.5", "熊猫牌", "cable", "熊猫"),  # here 牌 means "brand"
    ("Midea 电饭煲", "美的（Midea）", "appliance", "美的"),
    ("ＢＯＳＣＨ 机油滤芯", "ＢＯＳＣＨ", "auto_parts", "博世"),  # full-width is the same brand
])
def test_genuine_brand_names_are_that_brand_and_not_flagged(title, brand, category, named):
    specs = {"cable": {"3C证书编号": "2018010101123456"}, "appliance": GOOD_CCC}.get(category, {})
    result = score(title, brand, category, specs)
    assert result.brand == named and result.lookalike_of is None and not result.flagged


def test_brand_from_other_product_area_is_not_an_imitation():
    # 博士 is an ordinary word (a doctor's degree); only among auto parts does it imitate 博世.
    assert score("博士 论文 打印服务", "博士", "general").lookalike_of is None


def test_risk_terms_fire_with_their_weight():
    result = score("远东电缆 BV2.5 高仿", "远东", "cable", {"3C证书编号": "2018010101123456"})
    assert [(s.name, s.listing_value, s.weight) for s in result.signals] == [("risk_term", "高仿", 0.8)]
    assert result.flagged and result.brand == "远东"


@pytest.mark.parametrize("kind, number, ok", [
    ("ccc", "2018010707123456", True),
    ("ccc", "201801070712345", False),  # 15 digits
    ("ccc", "2018O10707123456", False),  # letter O for zero
    ("ccc", "1999010707123456", False),  # before CCC existed
    ("fertilizer_registration", "农肥(2019)准字5123号", True),
    ("fertilizer_registration", "农肥（2019）临字0512号", True),  # full-width brackets
    ("fertilizer_registration", "农肥准字5123号", False),
    ("production_licence", "XK05-001-00123", True),
    ("production_licence", "XK5-01-123", False),
])
def test_certificate_number_formats(kind, number, ok):
    import unicodedata

    assert well_formed(kind, unicodedata.normalize("NFKC", number), WATCHLISTS.formats) is ok


def test_missing_mandatory_certification_is_flagged_and_optional_is_not():
    cert = CertificationMatcher(WATCHLISTS)
    missing = cert.signals(ListingView(title="电水壶", category="appliance"))
    assert [s.name for s in missing] == ["cert_missing"] and "3C" in missing[0].detail
    assert cert.signals(ListingView(title="机油滤芯", category="auto_parts")) == []


def test_result_records_algorithm_and_watchlist_version():
    result = score("美旳 电饭煲", "美旳", "appliance", GOOD_CCC)
    assert result.algorithm.startswith(ALGORITHM + "+lookalike-gam-v") and "+mention-gam-v" in result.algorithm and result.watchlist_hash == WATCHLISTS.content_hash
    assert 0 < result.score <= 1


@settings(max_examples=200, deadline=None)
@given(title=st.text(max_size=300), brand=st.one_of(st.none(), st.text(max_size=20)),
       category=st.sampled_from([None, "appliance", "cable", "unknown"]))
def test_hostile_text_never_breaks_the_matchers(title, brand, category):
    result = score(title, brand, category)
    assert 0 <= result.score <= 1


def test_huge_title_is_scored():
    matcher = BrandMatcher(WATCHLISTS.brands)
    assert matcher.brand_named(ListingView(title="美的 " + "填充" * 50_000)) == "美的"


@pytest.mark.parametrize("number, signal, weight", [
    ("2017010707000013", "cert_status", 0.9),  # revoked in the sample list
    ("2018012201000314", "cert_status", 0.7),  # suspended
    ("2021010707345678", "cert_status", 0.6),  # expired
])
def test_certificate_status_from_the_registry(number, signal, weight):
    result = score("某牌 电水壶", None, "appliance", {"3C证书编号": number})
    fired = [s for s in result.signals if s.name == signal]
    assert fired and fired[0].weight == weight and number in fired[0].detail


def test_valid_certificate_and_unknown_certificate_say_nothing():
    assert not score("电水壶", None, "appliance", {"3C证书编号": "2024010707123456"}).signals  # valid
    assert not score("电水壶", None, "appliance", {"3C证书编号": "2024010707999999"}).signals  # not in the list


def test_certificate_of_another_brand():
    result = score("美的 电水壶", "美的", "appliance", {"3C证书编号": "2024010707123456"})  # a 苏泊尔 certificate
    assert [s.name for s in result.signals] == ["cert_brand_mismatch"] and "苏泊尔" in result.signals[0].detail


def test_ccc_class_must_fit_the_category():
    result = score("积木 玩具", None, "children", {"3C证书编号": "2020010101123456"})  # a cable class
    assert [s.name for s in result.signals] == ["cert_class_mismatch"]
    assert not score("电线", None, "cable", {"3C证书编号": "2020010101123456"}).signals


def test_revoked_fertilizer_registration_and_production_licence():
    assert score("复合肥", None, "fertilizer", {"肥料登记证号": "农肥(2015)准字0512号"}).signals[0].name == "cert_status"
    assert score("螺纹钢", None, "steel", {"生产许可证编号": "XK05-001-00042"}).signals[0].name == "cert_status"


def listing(title, brand=None, category=None, specs=None, price=None, seller=None):
    from decimal import Decimal

    return ListingView(title=title, brand=brand, category=category, specs=specs or {},
                       price=Decimal(str(price)) if price is not None else None, currency="CNY", seller_name=seller)


def test_shop_calling_itself_official_without_being_listed():
    fake = score_listing(listing("美的 电水壶", "美的", "appliance", GOOD_CCC, seller="美的官方直营店"), MATCHERS,
                         WATCHLISTS.content_hash)
    assert [s.name for s in fake.signals] == ["fake_official_shop"] and "美的官方旗舰店" in fake.signals[0].watchlist_value
    real = score_listing(listing("美的 电水壶", "美的", "appliance", GOOD_CCC, seller="美的官方旗舰店"), MATCHERS,
                         WATCHLISTS.content_hash)
    assert real.signals == ()
    plain = score_listing(listing("美的 电水壶", "美的", "appliance", GOOD_CCC, seller="佛山小家电商行"), MATCHERS,
                          WATCHLISTS.content_hash)
    assert plain.signals == ()


@pytest.mark.parametrize("title, specs, price, fires", [
    ("美的 电饭煲 MB-FB40Simple101", GOOD_CCC, 89, True),  # model number match, 30% of 299
    ("美的 电饭煲 4L", GOOD_CCC, 279, False),  # product-name match, plausible price
    ("远东电缆 BV2.5 铜芯电线 100米", {"3C证书编号": "2018010101123456"}, 80, True),  # 0.80/m vs 2.89/m
    ("远东电缆 BV2.5 铜芯电线 100米", {"3C证书编号": "2018010101123456"}, 279, False),
])
def test_price_against_the_catalogue_per_unit(title, specs, price, fires):
    category = "cable" if "电线" in title else "appliance"
    brand = "远东" if "远东" in title else "美的"
    result = score_listing(listing(title, brand, category, specs, price), MATCHERS, WATCHLISTS.content_hash)
    assert ("price_below_reference" in [s.name for s in result.signals]) is fires


def test_price_outlier_within_its_cohort():
    from matchers.prices import PriceCohorts

    market = [listing(f"公牛 插座 GN-{i}", "公牛", "appliance", GOOD_CCC, price=p)
              for i, p in enumerate([55, 59, 62, 58, 61, 57, 12])]
    matchers = build_matchers(WATCHLISTS, PriceCohorts.build(market, WATCHLISTS.categories))
    cheap = score_listing(market[-1], matchers, WATCHLISTS.content_hash)
    normal = score_listing(market[0], matchers, WATCHLISTS.content_hash)
    outlier = [s for s in cheap.signals if s.name == "price_outlier"]
    assert outlier and "中位价" in outlier[0].detail  # (the catalogue reference fires too: ¥59 a socket)
    assert normal.signals == ()


def test_a_missing_certificate_number_alone_is_context_not_a_flag():
    result = score_listing(ListingView(title="公牛 插座 五孔 GN-102", category="appliance", brand="公牛"),
                           MATCHERS, WATCHLISTS.content_hash)
    assert [(s.name, s.role) for s in result.signals] == [("cert_missing", "context")]
    assert not result.flagged and result.decided_by == ()


def test_what_a_check_worked_out_about_characters_is_kept_for_the_next_process(tmp_path):
    """`lijian check` keeps its per-character results in the cache folder (matchers/memo.py):
    the next process reads them back and gives the same answers, and a cut-short file only
    costs the work again."""
    import json
    import subprocess
    import sys

    from tests.conftest import run_lijian

    titles = tmp_path / "titles.jsonl"
    titles.write_text("".join(json.dumps({"title": t, "category": c}, ensure_ascii=False) + "\n" for t, c in (
        ("美旳 电饭煲 4L 家用", "appliance"), ("康帅傅 红烧牛肉面 整箱", "general"), ("公午 插座 八位", "cable"))),
        encoding="utf-8")
    env = {"LIJIAN_CACHE": str(tmp_path / "cache")}
    first = run_lijian("check", "--jsonl", str(titles), env=env)
    assert first.returncode == 0, first.stderr
    (kept,) = (tmp_path / "cache").glob("chars-*.pickle")
    probe = ("import sys; from matchers import cache, memo; cache.configure(sys.argv[1]); "
             "print(memo.restore())")
    read = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "cache")], capture_output=True, text=True)
    assert read.returncode == 0 and int(read.stdout) > 50, read.stderr
    second = run_lijian("check", "--jsonl", str(titles), env=env)
    assert second.stdout == first.stdout and '"lookalike_of": "美的"' in second.stdout
    kept.write_bytes(kept.read_bytes()[:100])  # cut short: worked out again, same answers
    third = run_lijian("check", "--jsonl", str(titles), env=env)
    assert third.returncode == 0 and third.stdout == first.stdout


def test_check_in_several_processes_prints_what_one_process_prints_in_order(tmp_path):
    """`lijian check --workers 2` on more than one chunk of input: the same lines in input order,
    bad lines named by their own numbers, and what the workers worked out about characters kept
    for the next process (the parent saves it)."""
    import json
    import subprocess
    import sys

    from crawler.app.checking import CHUNK
    from tests.conftest import run_lijian

    kinds = [("美旳 电饭煲 4L 家用", "appliance"), ("康帅傅 红烧牛肉面 整箱", "general"), ("公午 插座 八位", "cable"),
             ("正品 儿童 安全座椅", "children"), ("远东电缆 BV2.5 100米", "cable")]
    lines = []
    for i in range(2 * CHUNK + 37):
        title, category = kinds[i % len(kinds)]
        lines.append("not json" if i == CHUNK + 3 else json.dumps({"title": f"{title} {i}", "category": category},
                                                                  ensure_ascii=False))
    titles = tmp_path / "titles.jsonl"
    titles.write_text("\n".join(lines) + "\n", encoding="utf-8")
    one = run_lijian("check", "--workers", "1", "--jsonl", str(titles), env={"LIJIAN_CACHE": str(tmp_path / "c1")})
    two = run_lijian("check", "--workers", "2", "--jsonl", str(titles), env={"LIJIAN_CACHE": str(tmp_path / "c2")})
    assert one.returncode == two.returncode == 1  # the bad line
    assert f"line {CHUNK + 4}: skipped: not JSON" in two.stderr
    assert two.stdout == one.stdout and len(two.stdout.splitlines()) == len(lines) - 1
    probe = ("import sys; from matchers import cache, memo; cache.configure(sys.argv[1]); print(memo.restore())")
    kept = [int(subprocess.run([sys.executable, "-c", probe, str(tmp_path / c)], capture_output=True,
                               text=True).stdout) for c in ("c1", "c2")]
    assert kept[0] > 50 and kept[1] >= 0.9 * kept[0]  # without the workers' part: only start-up's
