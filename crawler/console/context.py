"""What every view of the console needs, in one object the app holds: the configuration,
database sessions, the login limiter and the watchlists (read once, on first use)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

from crawler.config import Config
from crawler.console.security import LoginLimiter


@dataclass
class Console:
    """What every view needs: configuration, database sessions, the watchlists (read once)."""

    config: Config
    sessions: sessionmaker[Session]
    limiter: LoginLimiter

    @cached_property
    def lists(self):
        from matchers import cache
        from watchlists import load_watchlists

        cache.configure(self.config.cache_dir)
        return load_watchlists(self.config.watchlists_dir, cache_dir=self.config.cache_dir)


def console() -> Console:
    return current_app.extensions["lijian"]
