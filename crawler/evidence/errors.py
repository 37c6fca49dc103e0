"""The error of the evidence package: raised by keys, packages, captures and time-stamps alike."""


class EvidenceError(ValueError):
    """A key, package or file that cannot be used; the message says which and why."""
