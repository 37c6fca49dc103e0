"""Certification marks with numbers, found in listing text (title, specs, description).

    CCC / 3C certificate    16 digits: year (4), certification body (2), product class (4),
                            serial (6), e.g. 2019010901234567, near "CCC", "3C" or "认证"
    fertilizer registration 农肥(2019)准字1234号 / 农肥(2019)临字1234号 (brackets full- or half-width)
    production licence      XK13-001-00123 (全国工业产品生产许可证)

Numbers are returned normalised (NFKC, spaces out, half-width brackets), so they compare
with the certificate watchlist. Structure is checked later by the matchers (watchlists'
formats.yaml); here a number only has to look like one.
"""

from __future__ import annotations

import re
import unicodedata

_CCC = re.compile(r"(?:CCC|3C|认证|證書|证书|認證)[^0-9A-Za-z]{0,16}((?:19|20)\d(?:\s?\d){13})(?!\d)", re.I)
_FERTILIZER = re.compile(r"农肥\s*\(\s*((?:19|20)\d{2})\s*\)\s*([准临])\s*字\s*(\d{3,5})\s*号")
_LICENCE = re.compile(r"(?<![A-Za-z])XK\s*(\d{2})\s*-\s*(\d{3})\s*-\s*(\d{5})(?!\d)", re.I)


def find_certificates(text: str | None, where: str) -> list[dict[str, str]]:
    """Every certification number in `text`, each as {kind, number, where}, in text order."""
    if not text:
        return []
    shown = unicodedata.normalize("NFKC", text)
    found: list[tuple[int, dict[str, str]]] = []
    for match in _CCC.finditer(shown):
        found.append((match.start(1), {"kind": "ccc", "number": match.group(1).replace(" ", ""), "where": where}))
    for match in _FERTILIZER.finditer(shown):
        number = f"农肥({match.group(1)}){match.group(2)}字{match.group(3)}号"
        found.append((match.start(), {"kind": "fertilizer_registration", "number": number, "where": where}))
    for match in _LICENCE.finditer(shown):
        number = f"XK{match.group(1)}-{match.group(2)}-{match.group(3)}"
        found.append((match.start(), {"kind": "production_licence", "number": number, "where": where}))
    return [item for _, item in sorted(found, key=lambda pair: pair[0])]


def unique(certificates: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for cert in certificates:
        key = (cert["kind"], cert["number"])
        if key not in seen:
            seen.add(key)
            kept.append(cert)
    return kept
