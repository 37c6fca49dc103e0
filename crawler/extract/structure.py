"""Is this page one product's page? Decided by the page's own structure, not by counting prices.

A shop's product page shows one main product block: a heading, and beside it a buy form or a
stock statement ("This product is currently unavailable"). It may also show other products —
related products, "recently viewed", "customers also bought" — as repeated cards, each a link
with a price. A category or search page is those cards and little else.

So: the repeated cards are found (sibling elements of one kind that each hold a link and a
price) and set aside, and what is left is asked whether it holds a buy form or a stock
statement. A review form, a login form or a newsletter form is not a buy form; a page of cards
whose only buy forms sit inside the cards is a list page however many prices it shows.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from lxml import html as lxml_html

from crawler.extract.visible import _BUY_WORDS, OUT_WORDS

_PRICE_CLASS = re.compile(r"price|preis|prix|precio|价", re.IGNORECASE)
_PRICE_TEXT = re.compile(r"(?:[¥￥$€£₽₩₹]|\bR\$|\bUSD|\bEUR|\bCNY|\bRMB)\s*\d|\d[\d.,]*\s*(?:€|元|zł|kč|lei)", re.IGNORECASE)
# Words in a form's action, id, class or name, or its submit control, that make it a buy form.
_BUY_FORM = re.compile(r"cart|basket|\bbag\b|\bbuy\b|purchase|add[-_ ]?to|addto|buynow|购物车|购买|購買|加入|立即", re.I)
_NOT_BUY_FORM = re.compile(r"search|login|log-in|signin|sign-in|register|review|comment|rating|newsletter|subscribe|"
                           r"contact|coupon|voucher|wishlist|compare|currency|language|sort|filter", re.I)
_CONTROLS = ".//button | .//input[@type='submit' or @type='button' or @type='image']"


@dataclass
class Structure:
    cards: int = 0  # other products shown as repeated cards (related, recently viewed, a list)
    buy_form: bool = False  # a buy form outside the cards: this page sells one product
    stock_statement: str | None = None  # "InStock"/"OutOfStock" said outside the cards
    headings: int = 0  # h1 elements outside the cards
    # The page as HTML without the cards (None when there were none): where a product page's own
    # price is looked for, so a related product's price is never taken.
    main: str | None = None
    card_names: tuple[str, ...] = ()  # the link texts of the cards: other products' names

    @property
    def one_product(self) -> bool:
        """One product's page: a main block with a buy form, or one saying it cannot be bought."""
        return self.headings >= 1 and (self.buy_form or self.stock_statement == "OutOfStock")


def _is_price(element) -> bool:
    for node in element.iter():
        if not isinstance(node.tag, str):
            continue
        names = f"{node.get('class', '')} {node.get('id', '')} {node.get('itemprop', '')}"
        if _PRICE_CLASS.search(names) and any(ch.isdigit() for ch in node.text_content()[:60]):
            return True
    return bool(_PRICE_TEXT.search(element.text_content()[:2000]))


def _cards(root) -> list:
    """Repeated product cards: two or more siblings of one tag and class that each hold a link
    and a price. The outermost such group wins (a card's own inner rows are not cards)."""
    found: list = []
    inside: set = set()
    for parent in root.iter():
        if not isinstance(parent.tag, str) or parent in inside or parent.getparent() in inside:
            if isinstance(parent.tag, str):
                inside.add(parent)
            continue
        groups: dict[tuple[str, str], list] = defaultdict(list)
        for child in parent:
            if isinstance(child.tag, str):
                groups[(child.tag, " ".join(sorted((child.get("class") or "").split())))].append(child)
        for group in groups.values():
            cards = [c for c in group if c.xpath(".//a[@href]") and _is_price(c)] if len(group) >= 2 else []
            if len(cards) >= 2:
                found.extend(cards)
                inside.update(cards)
    return found


def _buy_form(form) -> bool:
    attributes = " ".join(form.get(name) or "" for name in ("action", "id", "class", "name"))
    controls = " ".join(" ".join(filter(None, (c.get("name"), c.get("value"), c.get("id"), c.text_content())))
                        for c in form.xpath(_CONTROLS))
    if _NOT_BUY_FORM.search(attributes) and not _BUY_FORM.search(attributes):
        return False
    lowered = controls.lower()
    return bool(_BUY_FORM.search(attributes) or _BUY_FORM.search(controls) or any(w in lowered for w in _BUY_WORDS))


def main_block(html: str) -> tuple[object | None, list]:
    """(the page's tree without scripts and without other products' cards, the cards removed);
    (None, []) for markup lxml cannot read."""
    try:
        root = lxml_html.document_fromstring(html)
    except (ValueError, lxml_html.etree.ParserError):
        return None, []
    for bad in root.xpath("//script | //style | //noscript | //template"):
        bad.drop_tree()
    cards = _cards(root)
    for card in cards:
        if card.getparent() is not None:
            card.drop_tree()
    return root, cards


def page_structure(html: str) -> Structure:
    """What the page shows outside its repeated product cards. Never raises on bad markup."""
    root, cards = main_block(html)
    if root is None:
        return Structure()
    names = (" ".join(link.text_content().split()) for card in cards for link in card.xpath(".//a[@href]"))
    structure = Structure(cards=len(cards), headings=len(root.xpath("//h1")),
                          main=lxml_html.tostring(root, encoding="unicode") if cards else None,
                          card_names=tuple(sorted({name for name in names if len(name) > 3}, key=len, reverse=True)))
    structure.buy_form = any(_buy_form(form) for form in root.xpath("//form"))
    if not structure.buy_form:
        # A buy control outside any form (pages that add to the cart by script).
        structure.buy_form = any(any(word in (c.text_content() + " " + (c.get("value") or "")).lower()
                                     for word in _BUY_WORDS) for c in root.xpath("//button | //a[@role='button']"))
    # A stock statement is a short element of its own ("This product is currently unavailable."),
    # not a word in a paragraph of prose.
    for node in root.xpath("//body//*[text()]"):
        text = " ".join(node.text_content().split()).lower()
        if len(text) <= 150 and any(word in text for word in OUT_WORDS):
            structure.stock_statement = "OutOfStock"
            break
    return structure
