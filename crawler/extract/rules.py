"""Field rules: the small language site profiles use to say where a value is on a page.

A rule is one string, `KIND:EXPRESSION`, optionally followed by ` | re:PATTERN` to keep the
first regex group (or the whole match) of the value:

    css:.p-name a::attr(href)          CSS (parsel), text of the first match or an attribute
    xpath:.//h2/a/@title               XPath, the string value of the first match
    json:offers.price                  a dotted path into the JSON context (see below);
                                       `json:a.b + c.d` joins several with a space
    url:/(\\d+)\\.html                   a regex group of the page's (original) URL
    const:CNY                          a fixed value

A field lists several rules; the first that yields a non-empty value wins, so one profile can
cover layouts from several years. Text values are whitespace-collapsed; markup never leaks
into them. JSON paths step through dicts by key and through lists by index (`items.0.name`)
or, when the step is not a number, into the first element that has the key.

Rules are compiled once (`compile_rule`); a malformed rule is a `RuleError` naming it.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from crawler.normalise import clean_text

KINDS = ("css", "xpath", "json", "url", "const")
_CSS = HTMLTranslator()
_NAMESPACES = dict(Selector._default_namespaces)  # what parsel registers on every selector (re:, set:)
_STRING = etree.XPath("string()", smart_strings=False)


class RuleError(ValueError):
    """A rule that cannot be compiled: the message quotes it and says why."""


@dataclass(frozen=True)
class Rule:
    source: str
    kind: str
    expression: str  # for css: already translated to XPath
    pattern: re.Pattern[str] | None = None

    def __str__(self) -> str:
        return self.source


def compile_rule(source: str) -> Rule:
    text = source.strip()
    kind, sep, rest = text.partition(":")
    if not sep or kind not in KINDS:
        raise RuleError(f"rule {source!r}: must start with one of {', '.join(k + ':' for k in KINDS)}")
    expression, pattern = rest, None
    if " | re:" in rest:
        expression, _, raw = rest.partition(" | re:")
        try:
            pattern = re.compile(raw)
        except re.error as exc:
            raise RuleError(f"rule {source!r}: bad regular expression ({exc})") from None
    expression = expression.strip()
    if not expression:
        raise RuleError(f"rule {source!r}: empty expression")
    if kind == "css":
        try:
            expression = _CSS.css_to_xpath(expression)
        except Exception as exc:  # cssselect raises several types; all mean "bad selector"
            raise RuleError(f"rule {source!r}: bad CSS selector ({exc})") from None
    elif kind == "xpath":
        try:
            Selector(text="<html/>").xpath(expression)
        except ValueError as exc:
            raise RuleError(f"rule {source!r}: bad XPath ({exc})") from None
    elif kind == "url":
        try:
            pattern = re.compile(expression)
        except re.error as exc:
            raise RuleError(f"rule {source!r}: bad regular expression ({exc})") from None
    return Rule(source, kind, expression, pattern)


def json_path(node: Any, path: str) -> Any:
    for step in path.split("."):
        if node is None:
            return None
        if isinstance(node, list):
            if step.isdigit():
                index = int(step)
                node = node[index] if index < len(node) else None
                continue
            node = next((n[step] for n in node if isinstance(n, dict) and step in n), None)
        elif isinstance(node, dict):
            node = node.get(step)
        else:
            return None
    return node


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = clean_text(str(value))
    return text or None


def node_text(node: Selector) -> str:
    """The text of an element (or an attribute / text node) with whitespace collapsed."""
    root = node.root
    if isinstance(root, etree._Element) and node.type in ("html", "xml"):
        return _element_text(root)  # what node.xpath("string()") gives, without the Selector
    return clean_text(node.xpath("string()").get("") if root is not None and not isinstance(root, str)
                      else str(root))


@functools.lru_cache(maxsize=4096)
def _xpath(expression: str) -> etree.XPath | None:
    """The expression compiled once; None for one that uses a namespace prefix (re:, set:) or
    does not compile, which parsel then evaluates its own way. An lxml XPath compiled with
    namespaces keeps about 100 bytes for every document it is run on (measured: 311 KiB over
    3,000 documents, none without them): cached for a whole crawl, that grew without end."""
    if any(f"{prefix}:" in expression for prefix in _NAMESPACES):
        return None
    try:
        return etree.XPath(expression, smart_strings=False)
    except etree.XPathError:
        return None


def _element_text(element: etree._Element) -> str:
    if isinstance(element, (etree._Comment, etree._ProcessingInstruction)):  # string() refuses these
        return clean_text(element.text or "")
    return clean_text(_STRING(element))


@functools.lru_cache(maxsize=1024)
def _css_xpath(query: str) -> str:
    return _CSS.css_to_xpath(query)


def _tree(node: Selector, kinds: tuple[str, ...]) -> tuple[Selector, etree._Element | None]:
    """`node` as a Selector (a Scrapy response: its cached selector), and its lxml root when a
    compiled XPath may run on it: a tree of one of `kinds` with parsel's default namespaces."""
    if not isinstance(node, Selector):
        node = getattr(node, "selector", node)
    root = getattr(node, "root", None)
    if (isinstance(root, etree._Element) and getattr(node, "type", None) in kinds
            and getattr(node, "namespaces", None) == _NAMESPACES):
        return node, root
    return node, None


def has_match(node: Selector, css: str) -> bool:
    """Whether the CSS selector matches anything under `node`: bool(node.css(css)), without a
    Selector for each match."""
    node, root = _tree(node, ("html",))
    compiled = _xpath(_css_xpath(css)) if root is not None else None
    if compiled is not None:
        try:
            return bool(compiled(root))
        except etree.XPathError:
            pass
    return bool(node.css(css))


def first_text(node: Selector, expression: str) -> str | None:
    """`node_text` of the first match of `expression`, None when nothing matches: what
    `node.xpath(expression)` would give, with the XPath compiled once and no Selector made for
    every match (rule evaluation was most of a page's parsing time)."""
    node, root = _tree(node, ("html", "xml"))
    compiled = _xpath(expression) if root is not None else None
    if compiled is not None:
        try:
            found = compiled(root)
        except etree.XPathError:
            found = None
        if found is not None:
            if not isinstance(found, list):
                found = [found]
            if not found:
                return None
            first = found[0]
            if isinstance(first, etree._Element):
                return _element_text(first)
            return clean_text(first) if isinstance(first, str) else ""
    matches = node.xpath(expression)  # parsel's own way (and its errors)
    return node_text(matches[0]) if matches else None


@dataclass
class Context:
    """What a rule is evaluated against: an HTML node, a JSON value, and the page URL."""

    node: Selector | None = None
    data: Any = None
    url: str = ""


def evaluate(rule: Rule, ctx: Context) -> str | None:
    """The rule's value in this context, or None (never raises on page content)."""
    value: str | None
    if rule.kind == "const":
        value = rule.expression
    elif rule.kind == "url":
        match = rule.pattern.search(ctx.url) if rule.pattern else None
        return (match.group(1) if match and match.groups() else match.group(0) if match else None)
    elif rule.kind == "json":
        # `a.b + c.d` joins the values of several paths with a space (region + city).
        parts = [_as_text(json_path(ctx.data, path.strip())) for path in rule.expression.split(" + ")]
        value = " ".join(p for p in parts if p) or None
    else:
        if ctx.node is None:
            return None
        value = first_text(ctx.node, rule.expression)
    if value and rule.pattern is not None:
        match = rule.pattern.search(value)
        value = (match.group(1) if match.groups() else match.group(0)) if match else None
    return value or None


def first_value(rules: list[Rule], ctx: Context) -> tuple[str | None, Rule | None]:
    for rule in rules:
        value = evaluate(rule, ctx)
        if value:
            return value, rule
    return None, None


def select_nodes(rule: Rule, ctx: Context) -> list[Context]:
    """Every node (css/xpath) or JSON element (json) a list rule selects, as contexts."""
    if rule.kind == "json":
        found = json_path(ctx.data, rule.expression)
        items = found if isinstance(found, list) else [] if found is None else [found]
        return [Context(None, item, ctx.url) for item in items]
    if rule.kind in ("css", "xpath") and ctx.node is not None:
        return [Context(node, ctx.data, ctx.url) for node in ctx.node.xpath(rule.expression)]
    return []


def embedded_json(selector: Selector, variable: str) -> Any:
    """The JSON a page's script assigns to `variable` (e.g. window.__INITIAL_STATE__), or None."""
    for script in selector.xpath("//script/text()").getall():
        start = script.find(variable)
        if start < 0:
            continue
        brace = script.find("{", start + len(variable))
        bracket = script.find("[", start + len(variable))
        begin = min(i for i in (brace, bracket) if i >= 0) if max(brace, bracket) >= 0 else -1
        if begin < 0:
            continue
        try:
            value, _ = json.JSONDecoder().raw_decode(script, begin)
        except ValueError:
            continue
        return value
    return None
