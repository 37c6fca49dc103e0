"""Statements compiled once and run on the driver: the crawl's per-listing writes without
SQLAlchemy building, caching and compiling a statement object each time.

A `Prepared` is a Core statement compiled for one dialect: its SQL text, the order of its
parameters (qmark drivers) and each parameter's bind processor (the column type's own
conversion, e.g. an aware moment to SQLite's text, a dict to JSON), taken from the compiled
statement, so values are stored exactly as the ORM stores them. It runs through
`Connection.exec_driver_sql`, in the session's transaction, so errors are SQLAlchemy's
(`DBAPIError`, with `connection_invalidated` when the server is gone), as before.

Measured when the writer was a thread of the crawl (py-spy --gil, 3,000 sandbox listings;
docs/BENCHMARKS.md): 10.7 s of the interpreter lock when Core built each statement per listing,
1.3 s this way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement


class Prepared:
    """One statement compiled for `dialect`; `run(session, values)` executes it with a dict of
    values keyed by `column_keys` (and by the names of its explicit bindparams)."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, column_keys: Sequence[str] = (),
                 many: bool = False) -> None:
        # many: compiled for executemany (`run_many`), e.g. without the RETURNING of the new id
        # that PostgreSQL's INSERT would otherwise get.
        compiled = statement.compile(dialect=dialect, column_keys=list(column_keys), for_executemany=many)
        self.sql = compiled.string
        expected = set(column_keys)
        processors: dict[str, Callable[[Any], Any]] = {}
        constants: dict[str, Any] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if name in expected:
                if processor is not None:
                    processors[name] = processor
            elif bind.value is not None:  # a literal in the statement (e.g. the '' of NULLIF(x, ''))
                constants[name] = processor(bind.value) if processor else bind.value
            else:  # e.g. a column default SQLAlchemy would compute at execution: the caller must give it
                raise ValueError(f"prepared statement has no value for {name!r}: {self.sql}")
        self.processors, self.constants = processors, constants
        self.order: tuple[str, ...] | None = tuple(compiled.positiontup) if compiled.positional else None

    def parameters(self, values: dict[str, Any]) -> tuple | dict:
        processors, constants = self.processors, self.constants
        if self.order is not None:
            return tuple(constants[name] if name in constants
                         else processors[name](values[name]) if name in processors else values[name]
                         for name in self.order)
        out = {name: processors[name](value) if name in processors else value for name, value in values.items()}
        out.update(constants)
        return out

    def run(self, session: Session, values: dict[str, Any]):
        """Execute in the session's transaction; the driver's result (rows as the driver returns them)."""
        return session.connection().exec_driver_sql(self.sql, self.parameters(values))

    def run_many(self, session: Session, rows: list[dict[str, Any]]) -> None:
        """Execute once per row (the driver's executemany), in the session's transaction."""
        if rows:
            session.connection().exec_driver_sql(self.sql, [self.parameters(values) for values in rows])

    def one(self, session: Session, values: dict[str, Any]) -> tuple:
        return tuple(self.run(session, values).one())

    def bound(self, name: str, value: Any) -> Any:
        """`value` as the driver is given it for parameter `name` (and returns it, unconverted)."""
        processor = self.processors.get(name)
        return processor(value) if processor else value


__all__ = ["Prepared"]
