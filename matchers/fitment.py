"""What a product fits is not its brand: 华为 in "华为畅享9 手机壳", 格力 in "格力美的海尔 空调罩",
联想 in "键盘 适用于联想".

Accessories, parts and consumables name the device they fit. Three cues, from how such titles
are written on Chinese marketplaces (JD, Taobao):
- a fitment phrase before the name (适用于, 兼容, 专用, for …);
- several device brands in a row (格力美的海尔): a maker names itself once;
- an accessory word after the name with a model name between (华为畅享9手机壳,
  iPhone13钢化膜), unless the title says the part is the maker's own (原装, 原厂, 官方).
A brand named so is recorded as what the listing fits, not as its brand, and is not searched
for imitations either.
"""

from __future__ import annotations

import re

# Phrases that introduce the device a product fits (any category).
FITMENT_PHRASES = ("适用于", "适用", "兼容", "专用于", "适配", "用于", "匹配", "替换", "for")
# Products that are made to fit another maker's device (phone and computer accessories, printer
# consumables, appliance spares and covers, vehicle parts sold by the vehicle).
ACCESSORY_WORDS = (
    "手机壳", "保护壳", "保护套", "手机套", "外壳", "皮套", "贴膜", "钢化膜", "水凝膜", "手机膜", "屏幕膜", "键盘膜",
    "充电器", "充电线", "数据线", "充电头", "适配器", "电源线", "表带", "腕带", "耳机套", "耳塞套", "笔尖", "手写笔",
    "支架", "底座", "遥控器", "硒鼓", "墨盒", "粉盒", "碳粉", "色带", "鼓架", "滤芯", "滤网", "刷头", "替换头",
    "空调罩", "防尘罩", "防尘套", "罩子", "配件", "脚垫", "座套", "雨刮", "刹车片", "机油格", "空滤", "镜头盖",
)
OWN_MAKE = ("原装", "原厂", "官方", "官配", "正品原装")
PHRASE_REACH = 8  # characters after a fitment phrase that name the fitted device
MODEL_REACH = 8  # at most this many characters (a model name) between a brand and an accessory word
RUN_GAP = 1  # brands at most this far apart are "in a row"
_MODEL = re.compile(r"[0-9a-z]")  # a model name has a digit or a Latin letter
_PHRASES = re.compile("|".join(map(re.escape, sorted(FITMENT_PHRASES, key=len, reverse=True))))
_ACCESSORIES = re.compile("|".join(map(re.escape, sorted(ACCESSORY_WORDS, key=len, reverse=True))))


def phrase_spans(text: str) -> list[tuple[int, int]]:
    """Stretches of normalised `text` right after a fitment phrase."""
    return [(m.end(), m.end() + PHRASE_REACH) for m in _PHRASES.finditer(text)]


def fitted_spans(text: str, spans: list[tuple[int, int, str]]) -> set[tuple[int, int]]:
    """Which brand mentions ((start, end, brand) in normalised `text`) name a fitted device."""
    fitted: set[tuple[int, int]] = set()
    phrases = phrase_spans(text)
    for start, end, _ in spans:
        if any(s <= start < e for s, e in phrases):
            fitted.add((start, end))
    has_accessory = _ACCESSORIES.search(text) is not None
    for run in _runs(spans):
        # Three makers in a row is a list of what fits; two only with an accessory word
        # (耐克 and its own 三叶草 line may stand together on a genuine shoe).
        if len({brand for *_, brand in run}) >= (2 if has_accessory else 3):
            fitted.update((s, e) for s, e, _ in run)
    if has_accessory and not any(word in text for word in OWN_MAKE):
        accessories = [m.start() for m in _ACCESSORIES.finditer(text)]
        for start, end, _ in spans:
            # A model name between (畅享9, p30, 13): 倍思数据线 is 倍思's own cable and 博世机油滤芯
            # Bosch's own filter.
            if any(1 <= place - end <= MODEL_REACH and _MODEL.search(text[end:place]) for place in accessories):
                fitted.add((start, end))
    return fitted


def _runs(spans: list[tuple[int, int, str]]) -> list[list[tuple[int, int, str]]]:
    """Mentions standing next to each other (at most RUN_GAP apart), in order; a mention inside
    the previous one (阿迪 in 阿迪达斯) is part of it."""
    runs: list[list[tuple[int, int, str]]] = []
    for mention in sorted(spans):
        if runs and mention[0] < runs[-1][-1][1]:
            continue
        if runs and mention[0] - runs[-1][-1][1] <= RUN_GAP:
            runs[-1].append(mention)
        else:
            runs.append([mention])
    return runs
