"""Name normalisation for matching: width, case, punctuation and spacing folded away."""

from __future__ import annotations

import re
import unicodedata

_NOT_NAME = re.compile(r"[\W_]+", re.UNICODE)


def fold(text: str | None) -> str:
    """NFKC (full-width to half-width), case-folded, with spaces, punctuation and format characters removed."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return _NOT_NAME.sub("", text)


def is_latin(name: str) -> bool:
    return all(ch.isascii() for ch in name)
