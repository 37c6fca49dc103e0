"""Score one listing given as a record (`lijian check`): the record's fields checked and turned
into what the matchers read, the result as a record with every signal explained."""

from __future__ import annotations

import json
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from itertools import chain, islice
from typing import Any

from crawler.normalise import parse_price
from matchers import ListingView, MatchResult, build_matchers, score_listing
from watchlists import Watchlists


def listing_view(record: dict[str, Any]) -> ListingView:
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("needs a non-empty 'title'")
    specs = record.get("specs") or {}
    if not isinstance(specs, dict):
        raise ValueError("'specs' must be an object of name: value")
    price = record.get("price")
    amount, currency = (None, None)
    if isinstance(price, (int, float)) and not isinstance(price, bool):
        amount = Decimal(str(price))
    elif isinstance(price, str) and price.strip():
        try:
            amount = Decimal(price.strip())
        except InvalidOperation:
            amount, currency = parse_price(price)
            if amount is None:
                raise ValueError(f"'price' {price!r} is not a price") from None
    elif price not in (None, ""):
        raise ValueError(f"'price' must be a number or a price as shown, not {type(price).__name__}")
    if amount is not None and (not amount.is_finite() or amount < 0):
        raise ValueError(f"'price' {price!r} is not a price (a finite amount of zero or more)")
    return ListingView(title=title, category=record.get("category") or None, brand=record.get("brand") or None,
                       price=amount, currency=record.get("currency") or currency,
                       seller_name=record.get("seller") or None, specs={str(k): str(v) for k, v in specs.items()})


def result_record(result: MatchResult, url: str | None = None) -> dict[str, Any]:
    """A match result as `lijian check` prints it (one JSON object per listing)."""
    return {
        "url": url, "score": result.score, "flagged": result.flagged, "brand": result.brand,
        "brands": list(result.brands), "fits": list(result.fits),
        "words": list(result.words), "lookalike_of": result.lookalike_of,
        "decided_by": list(result.decided_by),
        "signals": [{"name": s.name, "role": s.role, "weight": s.weight, "detail": s.detail,
                     "listing_value": s.listing_value, "watchlist_value": s.watchlist_value}
                    for s in result.signals],
        "algorithm": result.algorithm, "watchlist_hash": result.watchlist_hash,
    }


class Checker:
    """The watchlists' matchers, built once, scoring records one by one."""

    def __init__(self, lists: Watchlists) -> None:
        from matchers import memo

        self.lists = lists
        self.matchers = build_matchers(lists)
        memo.restore()  # what earlier processes worked out about characters (matchers/memo.py)

    def close(self) -> None:
        """Keep what this process worked out about characters for the next one."""
        from matchers import memo

        memo.save()

    def check(self, record: dict[str, Any]) -> dict[str, Any]:
        """The result record of one listing record; ValueError naming a field that is wrong."""
        result = score_listing(listing_view(record), self.matchers, self.lists.content_hash)
        return result_record(result, record.get("url"))


# (line number, record or None, why it cannot be read) in; (line number, JSON line or None, problem) out.
Numbered = tuple[int, "dict[str, Any] | None", "str | None"]
Checked = tuple[int, "str | None", "str | None"]
CHUNK = 256  # records per task; an input shorter than one chunk is scored in this process
_WORKER: dict[str, Checker] = {}


def _one(checker: Checker, number: int, record: dict[str, Any] | None, problem: str | None) -> Checked:
    if record is None:
        return number, None, problem
    try:
        return number, json.dumps(checker.check(record), ensure_ascii=False), None
    except ValueError as exc:
        return number, None, str(exc)


def _check_chunk(chunk: list[Numbered]) -> tuple[list[Checked], dict]:
    from matchers import memo

    marked = memo.mark()
    checker = _WORKER["checker"]
    return [_one(checker, *item) for item in chunk], memo.since(marked)


def check_records(checker: Checker, records: Iterable[Numbered], workers: int = 1) -> Iterator[Checked]:
    """Every record's result line, in input order. With `workers` > 1 and more than one chunk
    of input, chunks are scored in that many forked processes (each starts with the matchers
    and index already built, nothing loaded twice), a bounded number of chunks in flight so a
    long input is never read ahead into memory; what the workers work out about characters
    comes back to this process's memo."""
    from matchers import memo

    records = iter(records)
    first = list(islice(records, CHUNK))
    if workers <= 1 or len(first) < CHUNK or "fork" not in multiprocessing.get_all_start_methods():
        for item in chain(first, records):
            yield _one(checker, *item)
        return
    _WORKER["checker"] = checker
    chunks = chain([first], iter(lambda: list(islice(records, CHUNK)), []))
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pending: deque = deque()
        for chunk in chain(chunks, [None]):
            if chunk is not None:
                pending.append(pool.apply_async(_check_chunk, (chunk,)))
            while pending and (chunk is None or len(pending) >= 2 * workers):
                lines, learned = pending.popleft().get()
                memo.merge(learned)
                yield from lines
