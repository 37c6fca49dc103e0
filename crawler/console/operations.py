"""What operators run: campaigns (edit, pause, resume, run now), crawl runs with their health
and stage errors, and the scheduler's view of what runs next."""

from __future__ import annotations

import logging
import threading

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from crawler.app import campaigns
from crawler.app import runs as app_runs
from crawler.console.context import console
from crawler.console.security import require
from crawler.errors import UserError

blueprint = Blueprint("operations", __name__)
logger = logging.getLogger("lijian.console")
LIST_FIELDS = ("categories", "profiles", "keywords")
NUMBER_FIELDS = ("max_pages", "max_listings", "max_runtime", "notify_threshold")
TEXT_FIELDS = ("schedule", "timezone", "evidence_policy", "sandbox_url", "description")


@blueprint.route("/operations")
@require("view")
def overview():
    from crawler.scheduling.scheduler import status

    return render_template("operations.html", lines=campaigns.overview(console().sessions),
                           schedule={row["campaign"]: row for row in status(console().config)},
                           runs=app_runs.recent(console().sessions, limit=30))


@blueprint.route("/operations/runs/<int:run_id>")
@require("view")
def run(run_id: int):
    try:
        line = app_runs.one(console().sessions, run_id)
    except UserError:
        abort(404)
    return render_template("run.html", line=line)


def _changes(form) -> dict:
    changes: dict = {}
    for name in LIST_FIELDS:
        if name in form:
            changes[name] = [part.strip() for part in form.get(name, "").replace("，", ",").split(",") if part.strip()]
    for name in NUMBER_FIELDS:
        if name in form:
            value = form.get(name, "").strip()
            if value and not value.isdigit():
                raise UserError(f"{name.replace('_', '-')} must be a whole number")
            changes[name] = int(value) if value else None
    for name in TEXT_FIELDS:
        if name in form:
            changes[name] = form.get(name, "").strip() or None
    if not changes.get("schedule"):
        changes.pop("schedule", None)
    if not changes.get("timezone"):
        changes.pop("timezone", None)
    if not changes.get("evidence_policy"):
        changes.pop("evidence_policy", None)
    return changes


@blueprint.route("/operations/campaigns/<name>", methods=["GET", "POST"])
@require("view")
def campaign(name: str):
    error = None
    if request.method == "POST":
        from crawler.app.accounts import may

        if not may(g.user.role, "operate"):
            abort(403)
        try:
            campaigns.edit(console().config, console().sessions, name, _changes(request.form))
            flash(("saved", name))
            return redirect(url_for("operations.campaign", name=name))
        except UserError as exc:
            error = str(exc)
    try:
        shown = campaigns.details(console().config, console().sessions, name, runs=10)
    except UserError:
        abort(404)
    return render_template("campaign.html", d=shown, error=error), (400 if error else 200)


@blueprint.route("/operations/campaigns/<name>/<action>", methods=["POST"])
@require("operate")
def campaign_action(name: str, action: str):
    try:
        if action in ("pause", "resume"):
            campaigns.set_enabled(console().sessions, name, action == "resume")
        elif action == "run":
            event = _run_in_background(name)
            if event.get("event") == "run_started":
                return redirect(url_for("operations.run", run_id=event["run"]))
            if event.get("event") == "run_skipped":
                raise UserError(f"campaign {name}: not run, {event.get('reason')}")
        else:
            abort(404)
    except UserError as exc:
        flash(("error", str(exc)))
        return redirect(url_for("operations.overview"))
    flash((action, name))
    return redirect(url_for("operations.overview"))


def _run_in_background(name: str, wait: float = 30.0) -> dict:
    """Start a campaign run beside the console's requests and wait until it has started (or
    was skipped: another run of it holds its lease); the event that said so, or {} when it
    did not say within `wait` seconds. Its progress shows on the run's page."""
    from crawler.campaigns import run_campaign

    config, sessions = console().config, console().sessions
    campaigns.details(config, sessions, name)  # an unknown campaign fails here, in the request
    said: dict = {}
    started = threading.Event()

    def on_event(event: str, **fields) -> None:
        if event in ("run_started", "run_skipped") and not started.is_set():
            said.update(event=event, **fields)
            started.set()

    def run() -> None:
        try:
            outcome = run_campaign(config, sessions, name, trigger="console", on_event=on_event)
            logger.info("campaign %s run %s: %s", name, outcome.run_id, outcome.status)
        except Exception:  # noqa: BLE001 - a background run must not take the console down
            logger.exception("campaign %s run from the console failed", name)
        finally:
            started.set()

    threading.Thread(target=run, name=f"campaign-{name}", daemon=True).start()
    started.wait(wait)
    return said
