"""Per-character results kept between processes.

The look-alike search asks the same questions of the same characters in every run: a
character's components and syllable, how alike two characters are. Worked out once, they sit
in lru_caches for the rest of the process — but a new process (each `lijian check`, each
`lijian match`) starts with empty caches and pays for every character again: a thousand
titles took 0.9 s in a new process against 0.1 s in a warm one.

`@kept("name")`, placed under a function's lru_cache, records each result the function works
out in a table; `save()` writes the tables to the cache folder (cache.py: owner-only, named by
the matchers' code fingerprint, so a change to the code or its libraries never reads stale
results) and `restore()` reads them back, so a new process starts where the last one ended.
The lru_cache in front keeps repeated calls at C speed; the table is consulted only on its
misses. Each table stops growing at its limit (the lru_cache's size).
"""

from __future__ import annotations

import functools
import itertools
import pickle
from collections.abc import Callable
from typing import Any

from matchers import cache

_TABLES: dict[str, dict[tuple, Any]] = {}
_LIMITS: dict[str, int] = {}
_STATE = {"restored": False, "grown": False}


def kept(name: str, limit: int = 65536) -> Callable[[Callable], Callable]:
    table = _TABLES.setdefault(name, {})
    _LIMITS[name] = limit

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def recorded(*args: Any) -> Any:
            try:
                return table[args]
            except KeyError:
                pass
            value = function(*args)
            if len(table) < limit:
                table[args] = value
                _STATE["grown"] = True
            return value

        return recorded

    return decorate


def _file() -> str:
    return f"chars-{cache.code_fingerprint()}.pickle"


def restore() -> int:
    """Read the kept results (once per process); the number of entries read."""
    if _STATE["restored"]:
        return 0
    _STATE["restored"] = True
    data = cache.read(_file())
    if data is None:
        return 0
    try:
        tables = pickle.loads(data)
    except Exception:  # noqa: BLE001 - a cut-short or foreign file only costs the work again
        return 0
    read = 0
    for name, entries in tables.items() if isinstance(tables, dict) else ():
        table = _TABLES.get(name)
        if table is None or not isinstance(entries, dict):
            continue
        for key, value in entries.items():
            if len(table) >= _LIMITS[name]:
                break
            table.setdefault(key, value)
            read += 1
    return read


def save() -> None:
    """Write the tables when this process worked out anything new."""
    if _STATE["grown"] and cache.folder() is not None:
        cache.write(_file(), pickle.dumps(_TABLES, protocol=pickle.HIGHEST_PROTOCOL), family="chars-", keep=2)
        _STATE["grown"] = False


def mark() -> dict[str, int]:
    """Where each table ends now: `since(mark)` gives what was worked out after it."""
    return {name: len(table) for name, table in _TABLES.items()}


def since(marked: dict[str, int]) -> dict[str, list[tuple[tuple, Any]]]:
    """Entries added since `marked` (tables only grow, in insertion order): what a worker
    process sends back so the parent keeps it (crawler/app/checking.py)."""
    return {name: list(itertools.islice(table.items(), marked.get(name, 0), None))
            for name, table in _TABLES.items() if len(table) > marked.get(name, 0)}


def merge(learned: dict[str, list[tuple[tuple, Any]]]) -> None:
    """Take in what another process worked out (its `since`)."""
    for name, entries in learned.items():
        table = _TABLES.get(name)
        if table is None:
            continue
        for key, value in entries:
            if len(table) >= _LIMITS[name]:
                break
            if key not in table:
                table[key] = value
                _STATE["grown"] = True
