"""The error of the evidence package: raised by keys, packages, captures and time-stamps alike."""

from crawler.errors import UserError


class EvidenceError(UserError, ValueError):
    """A key, package or file that cannot be used; the message says which and why (every face
    shows it as one line)."""
