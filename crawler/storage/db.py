"""Engine and session set-up, schema upgrades, and clear errors for databases that cannot be used.

Nothing here assumes SQLite: the URL decides the dialect, Alembic owns the schema, and the
SQLite-only pragmas are applied only to SQLite connections.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from crawler.errors import StorageError

MIGRATIONS = "crawler:migrations"




def safe_url(url: str) -> str:
    """The URL as it may be shown to a person: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the digest read while a crawl writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    try:
        engine = create_engine(url, future=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StorageError(f"cannot use database URL {safe_url(url)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


# Alembic is imported inside the functions that use it (about 0.7 s): commands that never
# open a database (--help, sandbox, check, eval) start without it.
def _alembic_config(engine: Engine):
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config(make_engine("sqlite://"))).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with _connect(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _connect(engine: Engine):
    try:
        conn = engine.connect()
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StorageError(f"cannot connect to database {safe_url(str(engine.url))}: {reason}") from None
    try:
        yield conn
    finally:
        conn.close()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Bring the schema to `revision`; returns (before, after). Safe to run any number of times."""
    from alembic import command  # its environment machinery is only needed to migrate

    before = current_revision(engine)
    cfg = _alembic_config(engine)
    with _connect(engine) as conn:
        cfg.attributes["connection"] = conn
        try:
            command.upgrade(cfg, revision)
        except (OperationalError, ProgrammingError) as exc:
            raise StorageError(f"schema upgrade failed on {safe_url(str(engine.url))}: {exc.orig}") from None
        conn.commit()
    return before, current_revision(engine) or ""


def open_database(url: str, *, auto_upgrade: bool = True) -> Engine:
    """An engine whose schema is at head: upgraded here, or a StorageError naming the command to run."""
    engine = make_engine(url)
    if auto_upgrade:
        upgrade(engine)
    elif current_revision(engine) != head_revision():
        raise StorageError(f"database {safe_url(url)} is not at the current schema; run: lijian db upgrade")
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back (nothing half-written) if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
