"""Signing in and out. Failed attempts are limited per address and per user name; a signed-in
session holds the account's id and session version, nothing else."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, g, redirect, render_template, request, session, url_for

from crawler.app import accounts
from crawler.console.context import console
from crawler.console.i18n import word

blueprint = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path of this console (never another site) after signing in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("suspects.queue")


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""), failed=False)
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")
    address = request.remote_addr or "?"
    wait = console().limiter.blocked(address, username)
    if wait:
        return render_template("error.html", code=429, message=word("too_many", g.lang),
                               detail=f"{int(wait // 60) + 1} min"), 429
    user = accounts.authenticate(console().sessions, username, password)
    if user is None:
        console().limiter.failed(address, username)
        return render_template("login.html", next=request.form.get("next", ""), failed=True), 401
    console().limiter.succeeded(username)
    lang = session.get("lang")
    session.clear()  # a new session for a new login: nothing carried over from before it
    session.permanent = True
    now = datetime.now(timezone.utc).timestamp()
    session.update(uid=user.id, sv=user.session_version, login=now, seen=now, **({"lang": lang} if lang else {}))
    return redirect(_safe_next(request.form.get("next")))


@blueprint.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("auth.login"))
