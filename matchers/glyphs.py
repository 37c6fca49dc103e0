"""How alike two Chinese characters look when drawn: the shape a buyer actually sees.

Each of the 6,763 characters of GB2312 (the everyday set), and its kana, is drawn in a CJK font (Noto Sans
CJK SC, SIL Open Font Licence) at 48 px, scaled to 16x16 grey levels, centred, and compared
with every other by cosine similarity: 雷/雪 0.95, 扬/杨 0.95, 脾/牌 0.93, 马/乌 0.88, 午/牛 0.79.
Decompositions (chars.py) miss pairs of different parts that look alike (鸟/马, 寓/窝); pixels
do not. The neighbours of each character at NEIGHBOUR_FLOOR or more are shipped as a table
(data/glyph_neighbours.tsv, about 350 KB), so nothing is drawn at run time; it is rebuilt on a
machine with the font by:

    python -m matchers.glyphs > matchers/data/glyph_neighbours.tsv
"""

from __future__ import annotations

import glob
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("data") / "glyph_neighbours.tsv"
NEIGHBOUR_FLOOR = 0.78
MOST_NEIGHBOURS = 8
SIZE, CELL = 56, 16  # drawn at 48 px on a 56 px canvas, compared at 16x16


def everyday_characters() -> tuple[str, ...]:
    """GB2312's 6,763 characters (levels 1 and 2) and its kana (カ looks like 力), in code order."""
    found = []
    for high in (0xA4, 0xA5, *range(0xB0, 0xF8)):
        for low in range(0xA1, 0xFF):
            try:
                found.append(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return tuple(found)


def cjk_font() -> str | None:
    """A CJK font file on this machine (Debian's fonts-noto-cjk, which make setup installs)."""
    for pattern in ("/usr/share/fonts/**/NotoSansCJK-Regular.tt[cf]", "/usr/share/fonts/**/*CJK*.tt[cf]",
                    "/usr/share/fonts/**/wqy*.tt[cf]"):
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return found[0]
    return None


def drawn_vectors(chars: tuple[str, ...], font_file: str):
    """One unit vector of 16x16 centred grey levels per character (numpy, rows in `chars` order)."""
    import numpy as np  # noqa: PLC0415
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415

    font = ImageFont.truetype(font_file, 48, index=0)
    vectors = []
    for ch in chars:
        image = Image.new("L", (SIZE, SIZE), 0)
        ImageDraw.Draw(image).text((4, -6), ch, font=font, fill=255)
        vector = np.asarray(image.resize((CELL, CELL), Image.BILINEAR), dtype=np.float32).ravel()
        vector -= vector.mean()
        vectors.append(vector / (np.linalg.norm(vector) + 1e-9))
    return np.stack(vectors)


def build(font_file: str) -> dict[str, list[tuple[str, float]]]:
    """{character: [(neighbour, similarity), …]} at NEIGHBOUR_FLOOR or more, most alike first."""
    import numpy as np  # noqa: PLC0415

    chars = everyday_characters()
    vectors = drawn_vectors(chars, font_file)
    table: dict[str, list[tuple[str, float]]] = {}
    for start in range(0, len(chars), 1024):
        block = vectors[start:start + 1024] @ vectors.T
        for row, similarities in enumerate(block):
            i = start + row
            similarities[i] = -1.0
            best = np.argsort(-similarities)[:MOST_NEIGHBOURS]
            near = [(chars[j], round(float(similarities[j]), 2)) for j in best if similarities[j] >= NEIGHBOUR_FLOOR]
            if near:
                table[chars[i]] = near
    return table


@lru_cache(maxsize=1)
def _neighbours() -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        ch, rest = line.split("\t", 1)
        for item in rest.split(" "):
            other, value = item.split(":")
            table.setdefault(ch, {})[other] = float(value)
            table.setdefault(other, {}).setdefault(ch, float(value))  # the table is kept symmetric
    return table


def drawn_similarity(a: str, b: str) -> float:
    """0-1: how alike the two characters look drawn; 0 below NEIGHBOUR_FLOOR or outside GB2312."""
    if a == b:
        return 1.0
    return _neighbours().get(a, {}).get(b, 0.0)


def drawn_neighbours(ch: str) -> tuple[str, ...]:
    return tuple(_neighbours().get(ch, ()))


def main() -> None:
    font_file = cjk_font()
    if font_file is None:
        raise SystemExit("no CJK font found: install Debian's fonts-noto-cjk (make setup does)")
    print(f"# character\tneighbour:similarity … — python -m matchers.glyphs, drawn in {Path(font_file).name}")
    for ch, near in build(font_file).items():
        print(ch + "\t" + " ".join(f"{other}:{value:.2f}" for other, value in near))


if __name__ == "__main__":
    main()
