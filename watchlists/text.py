"""How text is folded before two spellings are compared: one definition for the watchlists,
the matchers and the extractors (the lowest package, so all of them may use it)."""

from __future__ import annotations

import unicodedata


def fold(text: str | None) -> str:
    """NFKC (full-width letters and digits to half-width, compatibility forms to their plain
    ones) and case-folded; invisible format characters (zero-width spaces a seller puts inside a
    name to slip past a filter) removed."""
    if not text:
        return ""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if unicodedata.category(ch) != "Cf")


def squeezed(text: str | None) -> str:
    """fold() without any whitespace: how names and titles are keyed ('美的 集团' is '美的集团')."""
    return "".join(fold(text).split())
