"""Look-alike brand detection: character similarity, the engine, and the shared development set."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from matchers import ListingView
from matchers.brands import BrandMatcher
from matchers.chars import char_similarity, shape_similarity
from matchers.lookalike import align, normalise
from watchlists import Brand, load_watchlists

KNOCKOFFS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "knockoffs-dev.tsv"
MATCHER = BrandMatcher(load_watchlists().brands)


@pytest.mark.parametrize("alike, unlike", [("师帅", "师美"), ("泊伯", "泊信"), ("的旳", "的菱"), ("奥粤", "奥科")])
def test_shape_similar_characters_score_above_unrelated_ones(alike, unlike):
    assert shape_similarity(*alike) >= 0.5 > shape_similarity(*unlike)


def test_radical_forms_and_homoglyphs():
    assert char_similarity("氵", "水") == 1.0
    assert char_similarity("O", "0") == 0.8 and char_similarity("l", "1") == 0.8 and char_similarity("r", "b") == 0


def test_normalisation_folds_width_case_script_and_invisible_characters():
    assert normalise("ＧＲＥＥ") == "gree" and normalise("海爾") == "海尔" and normalise("美\u200b的") == "美的"


@pytest.mark.parametrize("name, window, low, high", [
    ("雕牌", "周住牌", 0.8, 1.0),  # split character
    ("六个核桃", "六个土核桃", 0.8, 1.0),  # inserted character
    ("haier", "hiaer", 0.8, 1.0),  # transposed letters
    ("美的", "美菱", 0.0, 0.5),  # another brand, not an imitation (threshold 0.65)
])
def test_alignment_similarity(name, window, low, high):
    score, differences = align(name, window)
    assert low <= score <= high and differences


def find(title, category=None, brand=None, matcher=MATCHER):
    return matcher.analyse(ListingView(title=title, category=category, brand=brand))


@pytest.mark.parametrize("title, category, imitated", [
    ("美旳 电饭煲 4L 正品", "appliance", "美的"),
    ("海尓 电热水器 60L", "appliance", "海尔"),
    ("雷氵天 微耕机 WG733", "farm_machinery", "雷沃"),
    ("BUII 插座 3位", "appliance", "公牛"),
    ("Hiaer 空调", "appliance", "海尔"),
    ("博士 机油滤芯 OC90", "auto_parts", "博世"),
    ("熊描 电线 BV2.5 国标", "cable", "熊猫"),  # same phonetic part 苗, radical 扌 for 犭
])
def test_imitations_in_titles(title, category, imitated):
    finding = find(title, category)
    assert finding.lookalike is not None and finding.lookalike.name.brand == imitated


@pytest.mark.parametrize("title, category, named", [
    ("美菱 冰箱 206L", "appliance", "美菱"),  # another watchlist brand, exactly: not an imitation of 美的
    ("海爾 电热水器", "appliance", "海尔"),  # traditional script
    ("GELI 空调 1.5匹", "appliance", "格力"),  # pinyin
    ("ＢＯＳＣＨ 机油滤芯", "auto_parts", "博世"),  # full-width
    ("degree 温度计 digital", "general", None),  # GREE inside a word is not GREE
])
def test_genuine_spellings_and_other_brands_are_not_imitations(title, category, named):
    finding = find(title, category)
    assert finding.lookalike is None and finding.brand == named


def test_common_word_outside_the_brands_area_is_not_an_imitation():
    assert find("博士 论文 打印", "general").lookalike is None


def test_defensive_names_are_never_flagged():
    brands = [Brand(name="娃哈哈", categories=["general"], defensive_names=["娃恰恰"])]
    matcher = BrandMatcher(brands)
    assert find("娃恰恰 饮料", "general", matcher=matcher).lookalike is None
    assert find("娃哈恰 饮料", "general", matcher=matcher).lookalike.name.brand == "娃哈哈"


def test_brand_field_that_adds_to_a_name_imitates_it():
    finding = find("电饭煲 4L", "appliance", brand="美的家")
    assert finding.lookalike.name.brand == "美的" and finding.source == "品牌字段"
    assert find("电饭煲", "appliance", brand="美的（Midea）").brand == "美的"


@pytest.mark.skipif(not KNOCKOFFS.exists(), reason="../shared/corpus/knockoffs-dev.tsv is not beside this checkout")
def test_shared_lookalike_file_is_fully_right():
    result = CliRunner().invoke(cli, ["eval", "lookalikes", str(KNOCKOFFS)])
    assert result.exit_code == 0, result.output
    assert "precision 1.000, recall 1.000" in result.output
    assert "same-brand spellings resolved 3/3" in result.output and "other brands flagged 0/4" in result.output


def test_check_prints_explained_json_and_counts_bad_lines():
    lines = '{"title": "美旳 电饭煲", "category": "appliance", "url": "http://x/1"}\nnot json\n{"price": 3}\n'
    result = CliRunner().invoke(cli, ["check"], input=lines)
    assert result.exit_code == 1 and "2 line(s) skipped" in result.output
    first = json.loads(result.output.splitlines()[0])
    assert first["lookalike_of"] == "美的" and first["flagged"] and first["url"] == "http://x/1"
    signal = first["signals"][0]
    assert set(signal) == {"name", "weight", "detail", "listing_value", "watchlist_value"}
    assert first["algorithm"] and first["watchlist_hash"]


@pytest.mark.parametrize("title", ["㼀㼀 电水壶", "", " ", "\x00\x07", "🔥" * 1000, "<script>" * 500, "美" * 20000, "a\u202eb"])
def test_hostile_titles_never_break_analysis(title):
    finding = find(title or "x", "appliance")
    assert finding.lookalike is None or 0 < finding.lookalike.score <= 1


def test_brand_named_after_a_fitment_phrase_is_not_the_claim_nor_an_imitation():
    from watchlists import LegitimateContext

    contexts = [LegitimateContext(phrase="适用于", categories=["auto_parts"])]
    matcher = BrandMatcher([Brand(name="大众", categories=["auto_parts"]), Brand(name="曼牌", categories=["auto_parts"])],
                           contexts)
    fits = find("机油滤芯 适用于大众朗逸", "auto_parts", matcher=matcher)
    assert fits.brand is None and fits.lookalike is None
    near = find("机油滤芯 适用于大从朗逸", "auto_parts", matcher=matcher)
    assert near.lookalike is None  # a misspelt vehicle name after 适用于 is not a counterfeit claim
    claim = find("曼牌 机油滤芯 适用于大众", "auto_parts", matcher=matcher)
    assert claim.brand == "曼牌" and claim.lookalike is None
    elsewhere = find("大众 充电宝 适用于手机", "appliance", matcher=matcher)  # phrase only counts in its categories
    assert elsewhere.brand == "大众"


def test_characters_sharing_a_phonetic_part_look_alike_but_sharing_a_radical_does_not():
    from matchers.chars import char_similarity

    assert char_similarity("描", "猫") >= 0.7 and char_similarity("清", "请") >= 0.7
    assert char_similarity("室", "宝") < 0.7  # 宀 is the radical; 至 and 玉 differ
    assert find("熊猫 电线 BV2.5", "cable").lookalike is None  # the genuine name is not an imitation


def _gb2312_level1() -> list[str]:
    chars = []
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def test_finals_from_the_cached_syllable_are_pypinyins_finals():
    from pypinyin import Style, lazy_pinyin

    from matchers.chars import final, is_han

    chars = _gb2312_level1() + ["㼀", "a", "1", "氵"]
    expected = {ch: (lazy_pinyin(ch, style=Style.FINALS, errors="ignore") or [""])[0] if is_han(ch) else ""
                for ch in chars}
    assert sum(bool(f) for f in expected.values()) > 3000
    assert {ch: final(ch) for ch in chars} == expected

