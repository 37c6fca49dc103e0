"""The suspect queue, one suspect, and decisions on them (one at a time or in bulk)."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from crawler.app import evidence as app_evidence
from crawler.app import review, triage
from crawler.app.accounts import may
from crawler.app.sampling import place_orders
from crawler.console.context import console
from crawler.console.security import DOWNLOAD_POLICY, require
from crawler.errors import UserError

blueprint = Blueprint("suspects", __name__)
# The decisions the console offers, in the order of its buttons.
DECISIONS = ("confirmed", "false_positive", "sampling_ordered", "closed", "new")


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        abort(400, f"not a date: {value[:20]!r} (YYYY-MM-DD)")


def _number(value: str | None, kind=float):
    try:
        return kind(value) if value not in (None, "") else None
    except ValueError:
        abort(400, f"not a number: {str(value)[:20]!r}")


def queue_filter(args) -> review.QueueFilter:
    statuses = tuple(s for s in args.getlist("status") if s in triage.STATUSES)
    return review.QueueFilter(
        date_from=_date(args.get("from")), date_to=_date(args.get("to")), statuses=statuses,
        area=args.get("area") or None, marketplace=args.get("marketplace") or None,
        region=args.get("region") or None, brand=(args.get("brand") or "").strip()[:64] or None,
        signal=args.get("signal") or None, min_score=_number(args.get("min_score")),
        campaign=args.get("campaign") or None, sort=args.get("sort", "score"),
        ids=tuple(int(part) for part in args.get("ids", "").split(",") if part.strip().isdigit())[:500],
        page=_number(args.get("page"), int) or 1)


def _areas() -> dict[str, str]:
    return {slug: c.zh if g.lang == "zh" else c.en for slug, c in console().lists.categories.items()}


@blueprint.route("/")
def home():
    return redirect(url_for("suspects.queue"))


@blueprint.route("/suspects")
@require("view")
def queue():
    f = queue_filter(request.args)
    page = review.queue(console().sessions, f)
    areas = _areas()
    args = request.args.to_dict(flat=False)
    return render_template("queue.html", page=page, f=f, areas=areas, sorts=review.SORTS, args=args,
                           decisions=DECISIONS, back=request.full_path)


def _detail_or_404(suspect_id: int) -> review.SuspectDetail:
    detail = review.suspect_detail(console().sessions, console().lists, suspect_id)
    if detail is None:
        abort(404)
    return detail


@blueprint.route("/suspects/<int:suspect_id>")
@require("view")
def detail(suspect_id: int):
    detail = _detail_or_404(suspect_id)
    return render_template("suspect.html", d=detail, shot=review.screenshot_of(detail), areas=_areas(),
                           decisions=DECISIONS)


def _decide(suspect_id: int, status: str, note: str | None, version: int | None) -> triage.Decision:
    """One decision by the signed-in analyst; ordering sampling places a one-row order batch."""
    then = None
    if status == "sampling_ordered":
        config, lists = console().config, console().lists
        then = lambda session, suspect: place_orders(session, lists, config.out_dir, g.user.username,  # noqa: E731
                                                     limit=1, suspect_ids=[suspect.id])
    return triage.decide(console().sessions, suspect_id, status, g.user.username, note, source="console",
                         expected_version=version, then=then)


@blueprint.route("/suspects/<int:suspect_id>/decide", methods=["POST"])
@require("decide")
def decide(suspect_id: int):
    status = request.form.get("status", "")
    if status not in DECISIONS:
        abort(400, f"unknown decision {status[:30]!r}")
    version = _number(request.form.get("version"), int)
    if version is None:
        abort(400, "the form has no version: reload the page")
    note = (request.form.get("note") or "").strip()[:2000] or None
    try:
        _decide(suspect_id, status, note, version)
    except triage.DecisionConflict as conflict:
        detail = _detail_or_404(suspect_id)
        return render_template("suspect.html", d=detail, shot=review.screenshot_of(detail), decisions=DECISIONS,
                               areas=_areas(), conflict=conflict, draft_note=note), 409
    except triage.TriageError as exc:
        abort(404 if "no suspect" in str(exc) else 400, str(exc))
    flash(("ok", f"#{suspect_id}"))
    return redirect(url_for("suspects.detail", suspect_id=suspect_id))


def _back(target: str | None) -> str:
    return target if target and target.startswith("/suspects") and not target.startswith("//") else url_for(
        "suspects.queue")


@blueprint.route("/suspects/bulk", methods=["POST"])
@require("view")
def bulk():
    action = request.form.get("action", "")
    picked: list[tuple[int, int]] = []
    for value in request.form.getlist("pick"):
        suspect_id, _, version = value.partition(":")
        if not (suspect_id.isdigit() and version.isdigit()):
            abort(400, "a selected row is malformed")
        picked.append((int(suspect_id), int(version)))
    if not picked:
        flash(("error", "0"))
        return redirect(_back(request.form.get("back")))
    if action == "export":
        return _export([suspect_id for suspect_id, _ in picked])
    if action not in DECISIONS:
        abort(400, f"unknown action {action[:30]!r}")
    if not may(g.user.role, "decide"):
        abort(403)
    note = (request.form.get("note") or "").strip()[:2000] or None
    done, conflicts = [], []
    for suspect_id, version in picked:
        try:
            _decide(suspect_id, action, note, version)
            done.append(suspect_id)
        except triage.DecisionConflict:
            conflicts.append(suspect_id)
        except triage.TriageError:
            conflicts.append(suspect_id)
    flash(("bulk", f"{len(done)}", ",".join(map(str, conflicts))))
    return redirect(_back(request.form.get("back")))


def _export(ids: list[int]):
    from crawler.console.casework import export_packages

    if not may(g.user.role, "evidence"):
        abort(403)
    return export_packages(ids)


@blueprint.route("/captures/<int:capture_id>/<path:name>")
@require("view")
def capture_file(capture_id: int, name: str):
    capture = review.capture_by_id(console().sessions, capture_id)
    if capture is None or name not in (capture.files or {}):
        abort(404)
    try:
        data = app_evidence.capture_file(console().config, capture, name)
    except UserError as exc:
        abort(409, str(exc))
    if name.endswith(".png"):
        return Response(data, mimetype="image/png")
    # Everything else is the seller's content or an archive: a download, never a page of ours.
    response = Response(data, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="capture-{capture_id}-{name.replace(chr(34), "")}"'
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    return response


@blueprint.route("/captures/<int:capture_id>/verify", methods=["POST"])
@require("view")
def capture_verify(capture_id: int):
    capture = review.capture_by_id(console().sessions, capture_id)
    if capture is None:
        abort(404)
    problems = app_evidence.check_capture(console().config, capture)
    flash(("verified" if not problems else "not_verified", f"#{capture_id}", "; ".join(problems)))
    return redirect(url_for("suspects.detail", suspect_id=capture.suspect_id) if capture.suspect_id
                    else url_for("suspects.queue"))
