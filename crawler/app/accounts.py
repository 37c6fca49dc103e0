"""Console accounts and what each role may do.

Roles: an *analyst* reviews suspects and decides them, orders test purchases and records their
results; an *operator* runs the crawling (campaigns, runs, the scheduler); *enforcement* staff
export and verify evidence packages; an *admin* may do all of it. Everyone signed in may read
the queue, suspects, runs and reports; nobody else sees anything.

Passwords are kept only as Argon2id hashes (argon2-cffi, the reference binding, with its
recommended parameters), rehashed on login when the parameters change. Changing a password or
disabling an account raises the account's session_version, which ends every session it has.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.errors import UserError
from crawler.storage.db import session_scope
from crawler.storage.models import User, utcnow

ROLES = ("analyst", "operator", "enforcement", "admin")
ROLE_ZH = {"analyst": "分析员", "operator": "运维员", "enforcement": "执法人员", "admin": "管理员"}
# What each action needs; "view" is every signed-in account.
PERMISSIONS: dict[str, frozenset[str]] = {
    "view": frozenset(ROLES),
    "decide": frozenset({"analyst", "admin"}),
    "sample": frozenset({"analyst", "admin"}),
    "operate": frozenset({"operator", "admin"}),
    "evidence": frozenset({"enforcement", "admin"}),
    "admin": frozenset({"admin"}),
}
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # Argon2 hashes any length; a megabyte "password" is a denial of service
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
_HASHER = PasswordHasher()
# Verified against when the account does not exist, so a wrong name costs as long as a wrong
# password and the response time does not say which accounts exist.
_DUMMY = _HASHER.hash("not a password of anyone")


class AccountError(UserError, ValueError):
    """An account or password that cannot be used; the message says why."""


def may(role: str | None, action: str) -> bool:
    return role is not None and role in PERMISSIONS.get(action, frozenset())


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password has at most {MAX_PASSWORD} characters")
    return password


def _check_name(username: str) -> str:
    if not _USERNAME.fullmatch(username or ""):
        raise AccountError(f"user name {username!r}: letters, digits, '.', '_', '-' or '@', at most 64")
    return username


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    return role


def _get(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"no user {username!r}")
    return user


def add_user(sessions: sessionmaker[Session], username: str, role: str, password: str) -> None:
    _check_name(username)
    _check_role(role)
    hashed = _HASHER.hash(check_password(password))
    with session_scope(sessions) as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise AccountError(f"user {username!r} exists (lijian user passwd to change its password)")
        session.add(User(username=username, role=role, password_hash=hashed))


def users(sessions: sessionmaker[Session]) -> list[User]:
    with sessions() as session:
        rows = list(session.scalars(select(User).order_by(User.username)))
        session.expunge_all()
    return rows


def set_password(sessions: sessionmaker[Session], username: str, password: str) -> None:
    """A new password; the account's sessions end."""
    hashed = _HASHER.hash(check_password(password))
    with session_scope(sessions) as session:
        user = _get(session, username)
        user.password_hash, user.password_changed_at = hashed, utcnow()
        user.session_version += 1


def set_active(sessions: sessionmaker[Session], username: str, active: bool, role: str | None = None) -> None:
    """Disable (its sessions end) or enable an account; with `role`, change its role too."""
    with session_scope(sessions) as session:
        user = _get(session, username)
        user.active = active
        if role is not None:
            user.role = _check_role(role)
        user.session_version += 1


def authenticate(sessions: sessionmaker[Session], username: str, password: str) -> User | None:
    """The active account with this name and password, or None (taking as long either way)."""
    if len(password) > MAX_PASSWORD:
        return None
    with session_scope(sessions) as session:
        user = session.scalar(select(User).where(User.username == username))
        try:
            _HASHER.verify(user.password_hash if user is not None else _DUMMY, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or not user.active:
            return None
        if _HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = _HASHER.hash(password)
        user.last_login_at = utcnow()
        session.flush()
        session.expunge(user)
    return user


def signed_in(sessions: sessionmaker[Session], user_id: object, session_version: object) -> User | None:
    """The account a session cookie names, if it is still active and the session still valid."""
    if not isinstance(user_id, int) or not isinstance(session_version, int):
        return None
    with sessions() as session:
        user = session.get(User, user_id)
        if user is None or not user.active or user.session_version != session_version:
            return None
        session.expunge(user)
    return user


__all__ = ["PERMISSIONS", "ROLES", "ROLE_ZH", "AccountError", "add_user", "authenticate", "check_password", "may",
           "set_active", "set_password", "signed_in", "users"]
