"""Insert-if-absent with each dialect's native conflict handling (no read-then-write race)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

_DIALECT_INSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def native_insert(dialect: str) -> Callable:
    """The dialect's INSERT with ON CONFLICT."""
    make_insert = _DIALECT_INSERT.get(dialect)
    if make_insert is None:
        raise NotImplementedError(f"no native upsert for database dialect {dialect!r}")
    return make_insert


def _native_insert(session: Session) -> Callable:
    """The session's dialect's INSERT with ON CONFLICT."""
    return native_insert(session.get_bind().dialect.name)


def insert_ignore_many(session: Session, model: type, rows: list[dict[str, Any]], keys: tuple[str, ...]) -> None:
    """Insert each row unless one with the same `keys` exists (one executemany statement)."""
    if not rows:
        return
    make_insert = _native_insert(session)
    session.execute(make_insert(model.__table__).on_conflict_do_nothing(index_elements=list(keys)), rows)


def upsert(session: Session, model: type, values: dict[str, Any], keys: tuple[str, ...],
           update_values: dict[str, Any]) -> None:
    """Insert a row, or update `update_values` on the row with the same `keys` (one statement)."""
    make_insert = _native_insert(session)
    stmt = make_insert(model).values(**values)
    session.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=update_values))


def add_counts(session: Session, model: type, keys: tuple[str, ...], counts: tuple[str, ...],
               rows: list[dict[str, Any]]) -> None:
    """Add each row's `counts` to the row with the same `keys`, inserting it when absent (one
    executemany statement; rows sorted by key by the caller lock in one order everywhere)."""
    if not rows:
        return
    make_insert = _native_insert(session)
    table = model.__table__
    stmt = make_insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                      set_={c: table.c[c] + stmt.excluded[c] for c in counts})
    session.execute(stmt, rows)
