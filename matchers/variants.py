"""Variant forms of Chinese characters (异体字) folded to the common form: 海尓 is 海尔 written with
a variant of 尔, the same brand, not an imitation of it.

Traditional forms are folded by OpenCC (t2s) in brandtext.normalise; this table adds the
variants OpenCC leaves alone (尓, 囯, 戸, 吿, 淸, 衞 …). It is built from yitizi's variant graph
(nk2028/yitizi, CC0; from OpenCC's and ytenx's variant data): a character is folded to its most
common variant when that variant is at least 30 times as frequent in wordfreq's Chinese list
(lexicon.py) and the character itself is rare (under 1,000 per billion words), so that two everyday
characters listed as partial variants (亏/于, 奶/你) are never merged. The table is shipped as
data (variant_folds.tsv) and rebuilt with:

    python -m matchers.variants > matchers/data/variant_folds.tsv

tests/test_lookalike.py checks that the shipped table is what this builds.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("data") / "variant_folds.tsv"
MORE_COMMON = 1.5  # log10: the common form must be 30 times as frequent
RARE = 3.0  # log10: only characters seen fewer than 1,000 times per billion words are folded


def build() -> dict[str, str]:
    """{variant: common form} from yitizi's graph and wordfreq's frequencies (see the module doc)."""
    import opencc  # noqa: PLC0415
    import yitizi  # noqa: PLC0415

    from matchers import lexicon  # noqa: PLC0415

    t2s = opencc.OpenCC("t2s")
    folds = {}
    for ch, variants in sorted(yitizi.yitizi_data.items()):
        if len(ch) != 1 or t2s.convert(ch) != ch or lexicon.char_weight(ch) >= RARE:
            continue
        forms = {t2s.convert(v) for v in variants} - {ch}
        forms = {f for f in forms if len(f) == 1}
        if not forms:
            continue
        common = max(sorted(forms), key=lexicon.char_weight)
        if lexicon.char_weight(common) >= lexicon.char_weight(ch) + MORE_COMMON:
            folds[ch] = common
    return folds


@lru_cache(maxsize=1)
def folds() -> dict[int, str]:
    """The shipped table as a str.translate map."""
    table = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            variant, common = line.split("\t")
            table[ord(variant)] = common
    return table


def main() -> None:
    print("# variant\tcommon form — built by python -m matchers.variants (see matchers/variants.py)")
    for variant, common in build().items():
        print(f"{variant}\t{common}")


if __name__ == "__main__":
    main()
