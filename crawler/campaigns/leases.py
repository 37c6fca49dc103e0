"""One run per campaign at a time, across processes and machines: a lease row in the database
(`leases`), renewed while the run lives and left to expire if its process dies."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crawler.storage.db import session_scope
from crawler.storage.models import Lease, utcnow

logger = logging.getLogger("lijian.campaigns")
LEASE_TTL = timedelta(seconds=120)
HOLDER = f"{socket.gethostname()}:{os.getpid()}"


def acquire_lease(sessions: sessionmaker[Session], name: str, holder: str = HOLDER,
                  ttl: timedelta = LEASE_TTL, run_id: int | None = None) -> bool:
    """Take the named lease if it is free, expired, or already ours. Atomic in the database:
    a conditional UPDATE, or an INSERT that the primary key lets only one process win."""
    now = utcnow()
    with session_scope(sessions) as session:
        taken = session.execute(
            update(Lease).where(Lease.name == name, (Lease.expires_at < now) | (Lease.holder == holder))
            .values(holder=holder, acquired_at=now, expires_at=now + ttl, run_id=run_id)).rowcount
        if taken:
            return True
    try:
        with session_scope(sessions) as session:
            session.add(Lease(name=name, holder=holder, acquired_at=now, expires_at=now + ttl, run_id=run_id))
        return True
    except IntegrityError:
        return False


def renew_lease(sessions: sessionmaker[Session], name: str, holder: str = HOLDER, ttl: timedelta = LEASE_TTL) -> bool:
    with session_scope(sessions) as session:
        return bool(session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                                    .values(expires_at=utcnow() + ttl)).rowcount)


def release_lease(sessions: sessionmaker[Session], name: str, holder: str = HOLDER) -> None:
    with session_scope(sessions) as session:
        session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


def lease_holder(session: Session, name: str) -> Lease | None:
    lease = session.get(Lease, name)
    return lease if lease is not None and lease.expires_at > utcnow() else None


class LeaseKeeper(threading.Thread):
    """Renews a lease every third of its lifetime until stopped (the run is alive)."""

    def __init__(self, sessions: sessionmaker[Session], name: str, ttl: timedelta = LEASE_TTL) -> None:
        super().__init__(daemon=True, name=f"lease:{name}")
        self.sessions, self.lease, self.ttl = sessions, name, ttl
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.ttl.total_seconds() / 3):
            try:
                renew_lease(self.sessions, self.lease, ttl=self.ttl)
            except Exception as exc:  # noqa: BLE001 - a database hiccup must not kill the run
                logger.warning("lease %s not renewed: %s", self.lease, exc)

    def stop(self) -> None:
        self.stopped.set()
