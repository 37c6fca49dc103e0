"""Errors every layer may raise and every face (the CLI, the console) shows the same way."""


class UserError(Exception):
    """A problem the user can fix (a bad argument, a port in use, a missing file): its message
    is one line, shown without a traceback."""
