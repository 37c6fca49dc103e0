"""The console's Flask application: configuration, sessions, security headers, error pages, blueprints."""


from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker

from crawler.app import accounts
from crawler.clock import beijing_text
from crawler.config import Config
from crawler.console import i18n
from crawler.console.context import Console, console
from crawler.console.security import LoginLimiter, headers, secret_key

MAX_UPLOAD = 200 * 1024 * 1024  # an evidence package uploaded to verify (verify has its own limits inside)
OPEN_ENDPOINTS = {"auth.login", "static"}


def _web_link(url: object) -> str:
    """A link to a listing only if it is http(s): a seller-written javascript: URL is no link."""
    text = str(url or "")
    return text if urlsplit(text).scheme in ("http", "https") else "#"


def _local(moment: datetime | None, seconds: bool = False) -> str:
    return beijing_text(moment, seconds)


def create_app(config: Config, sessions: sessionmaker[Session] | None = None) -> Flask:
    from crawler.storage.db import open_database, session_factory

    app = Flask("crawler.console", template_folder="templates", static_folder="static")
    app.config.update(
        SECRET_KEY=secret_key(config.console_secret),
        SESSION_COOKIE_NAME="lijian_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=MAX_UPLOAD,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session it belongs to
    )
    CSRFProtect(app)
    app.extensions["lijian"] = Console(config, sessions or session_factory(open_database(config.database_url)),
                                       LoginLimiter())
    app.jinja_env.autoescape = True
    app.jinja_env.filters.update(web_link=_web_link, local=_local)

    @app.before_request
    def who_is_asking():
        lang = request.args.get("lang")
        if lang in i18n.LANGS:
            session["lang"] = lang
        g.lang = session.get("lang", "zh")
        g.user = None
        now = datetime.now(timezone.utc).timestamp()
        if "uid" in session:
            idle = now - float(session.get("seen", 0))
            if idle > config.session_minutes * 60:
                session.clear()
            else:
                g.user = accounts.signed_in(console().sessions, session.get("uid"), session.get("sv"))
                if g.user is None:
                    session.clear()
                else:
                    session["seen"] = now
        if g.user is None and request.endpoint not in OPEN_ENDPOINTS:
            if request.method == "GET":
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            return render_template("error.html", code=401, message=i18n.word("login", g.lang)), 401
        return None

    @app.context_processor
    def words():
        lang = getattr(g, "lang", "zh")
        user = getattr(g, "user", None)
        return {"t": lambda key: i18n.word(key, lang), "status_label": lambda c: i18n.status_label(c, lang),
                "signal_label": lambda n: i18n.signal_label(n, lang),
                "role_label": lambda r: i18n.role_label(r, lang), "lang": lang,
                "may": lambda action: user is not None and accounts.may(user.role, action),
                "nbsp": Markup("&nbsp;")}

    @app.after_request
    def secure(response):
        return headers(response)

    def error(code: int, key: str, detail: str | None = None):
        return render_template("error.html", code=code, message=i18n.word(key, getattr(g, "lang", "zh")),
                               detail=detail), code

    app.register_error_handler(403, lambda e: error(403, "forbidden"))
    app.register_error_handler(404, lambda e: error(404, "not_found"))
    app.register_error_handler(400, lambda e: error(400, "bad_request", getattr(e, "description", None)))
    app.register_error_handler(413, lambda e: error(413, "bad_request", f"more than {MAX_UPLOAD // 2**20} MB"))
    app.register_error_handler(CSRFError, lambda e: error(400, "bad_request", f"CSRF: {e.description}"))

    from crawler.console import auth, casework, operations, suspects

    for blueprint in (auth.blueprint, suspects.blueprint, casework.blueprint, operations.blueprint):
        app.register_blueprint(blueprint)
    return app


__all__ = ["create_app"]
