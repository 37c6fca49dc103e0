"""Storage: models, engine/session set-up and idempotent writes."""

from crawler.storage.db import StorageError, open_database, session_factory, session_scope

__all__ = ["StorageError", "open_database", "session_factory", "session_scope"]
