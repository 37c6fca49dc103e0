"""Errors every layer may raise and every face (the CLI, the console) shows the same way."""


class UserError(Exception):
    """A problem the user can fix (a bad argument, a port in use, a missing file): its message
    is one line, shown without a traceback."""


class StorageError(RuntimeError):
    """The database cannot be opened or is not at a usable schema version; the message says why.
    (Here, not in crawler.storage, so that a face can catch it without importing SQLAlchemy.)"""
