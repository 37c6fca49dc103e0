"""The internal entry point that runs one crawl in a process of its own.

Twisted's reactor cannot restart, so a campaign run and a Redis worker start a child process
per crawl:

    python -m crawler.app.child  < job.json

It reads one `CrawlJob` as JSON on its stdin (the spec as data, not command-line flags), takes
the database URL (and Redis URL) from the environment, where a password does not show in
`ps`, prints the run's one-line summary and exits 0 when the crawl finished, 1 when it did
not, 2 when the job itself is malformed.
"""

from __future__ import annotations

import sys

from crawler.app.crawls import CrawlJob, run_job
from crawler.config import load_config
from crawler.crawlspec import SpecError


def _out(line: str) -> None:
    print(line, flush=True)


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main() -> int:
    try:
        job = CrawlJob.model_validate_json(sys.stdin.read())
    except ValueError as exc:
        _err(f"error: not a crawl job: {str(exc).splitlines()[0]}")
        return 2
    try:
        return run_job(load_config(), job, say=_out, warn=_err)
    except SpecError as exc:
        _err(f"error: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
