"""The review console: a server-rendered web face over the same database and use cases as the
command line (`lijian serve`).

Flask renders every page on the server (Jinja2, autoescaped); the console's one script adds
keyboard navigation and select-all, and every page works without it. Sessions are signed
cookies that end after LIJIAN_SESSION_MINUTES idle or 12 hours; every form carries a CSRF
token (Flask-WTF); every view says which permission it needs and the server checks the role.
"""

from crawler.console.app import create_app

__all__ = ["create_app"]
