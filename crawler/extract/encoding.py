"""Which encoding a page's bytes are in, checked against the bytes before any declaration is
trusted.

Chinese shops declare wrongly often enough to matter: a GBK page with no charset at all (read
as UTF-8, every title becomes mojibake), a UTF-8 page still saying `charset=gbk` from an older
template (read as GB18030, likewise). So, in order:

1. a byte-order mark (UTF-8, UTF-16, UTF-32) decides;
2. bytes that are valid UTF-8 and hold non-ASCII text are UTF-8, whatever is declared (text in
   GBK or any other legacy encoding is almost never valid UTF-8 by accident);
3. the declared charset (the HTTP header's, else the page's `<meta>`) when the bytes decode
   in it cleanly;
4. bytes that are not UTF-8 but decode as GB18030 into mostly Chinese text are GB18030 (the
   superset of GB2312 and GBK);
5. otherwise w3lib's detection, as Scrapy and browsers do.
"""

from __future__ import annotations

import codecs
import re

from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

_HAN = re.compile(r"[\u4e00-\u9fff]")
_CHECK = 256 * 1024  # enough of a page to judge; a page's head and first results


def declared_encoding(body: bytes, content_type: str | None = None) -> str | None:
    """What the page says it is: the header's charset, else the first `<meta>` charset."""
    declared = http_content_type_encoding(content_type) if content_type else None
    return declared or html_body_declared_encoding(body)


def same_encoding(a: str | None, b: str | None) -> bool:
    try:
        return a is not None and b is not None and codecs.lookup(a).name == codecs.lookup(b).name
    except LookupError:
        return False


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        codecs.lookup(encoding)
    except LookupError:
        return False
    try:
        sample.decode(encoding)
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 4  # a multi-byte character cut at the sample's end
    return True


def sniff(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(encoding, why) for `body`; the encoding is a Python codec name."""
    bom, _ = read_bom(body)
    if bom:
        return bom, "byte-order mark"
    sample = body[:_CHECK]
    declared = declared_encoding(body, content_type)
    declared = resolve_encoding(declared) if declared else None  # gbk/gb2312 → gb18030, as browsers do
    if not sample.isascii() and _decodes(sample, "utf-8"):
        return "utf-8", "valid UTF-8" + (f" (declared {declared})" if declared and not same_encoding(declared, "utf-8") else "")
    if declared and not (same_encoding(declared, "utf-8") and not sample.isascii()) and _decodes(sample, declared):
        return declared, "declared"
    if _decodes(sample, "gb18030"):
        text = sample.decode("gb18030", errors="replace")
        letters = sum(1 for ch in text if not ch.isascii())
        if letters and len(_HAN.findall(text)) >= 0.5 * letters:
            return "gb18030", "Chinese text in GB18030" + (f" (declared {declared})" if declared else "")
    encoding, _ = html_to_unicode(content_type, body)
    return encoding, "detected"


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(encoding, text): undecodable bytes become U+FFFD, never an exception."""
    encoding, _ = sniff(body, content_type)
    _, mark = read_bom(body)
    if mark:
        body = body[len(mark):]  # the mark is no character of the page
    return encoding, body.decode(encoding, errors="replace")
