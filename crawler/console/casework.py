"""Follow-up work on cases: sampling orders and their results, the periodic report and the
digests, evidence packages (export for selected cases, upload one to verify)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from crawler.app import evidence as app_evidence
from crawler.app import sampling
from crawler.console.context import console
from crawler.console.security import DOCUMENT_POLICY, require
from crawler.errors import UserError

blueprint = Blueprint("casework", __name__)
# Files of the output folder the console opens, by kind: (folder under OUT, name pattern).
FILES = {
    "sampling": ("", re.compile(r"sampling-orders-[\w-]+\.(xlsx|csv)")),
    "report": ("", re.compile(r"report-[\w-]+\.(html|xlsx)")),
    "digest": ("", re.compile(r"digest-[\w-]+\.(html|xlsx|csv)")),
    "package": ("packages", re.compile(r"[\w.-]+\.(zip|wacz)")),
}


def _listing(kind: str) -> list[Path]:
    folder, pattern = FILES[kind]
    root = console().config.out_dir / folder
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if pattern.fullmatch(p.name)), key=lambda p: p.stat().st_mtime,
                  reverse=True)[:30]


@blueprint.route("/files/<kind>/<name>")
@require("view")
def out_file(kind: str, name: str):
    """A digest, report, order list or package from the output folder (names checked against
    what the console writes there: no path outside it can be asked for)."""
    if kind not in FILES or not FILES[kind][1].fullmatch(name):
        abort(404)
    if kind == "package" and not _may("evidence"):
        abort(403)
    path = console().config.out_dir / FILES[kind][0] / name
    if not path.is_file():
        abort(404)
    if name.endswith(".html"):
        response = Response(path.read_bytes(), mimetype="text/html")
        response.headers["Content-Security-Policy"] = DOCUMENT_POLICY
        return response
    return send_file(path.resolve(), as_attachment=True, download_name=name)


def _may(action: str) -> bool:
    from crawler.app.accounts import may

    return may(g.user.role, action)


# -- sampling --------------------------------------------------------------------------------
@blueprint.route("/sampling")
@require("view")
def sampling_page():
    areas = {slug: c.zh if g.lang == "zh" else c.en for slug, c in console().lists.categories.items()}
    return render_template("sampling.html", lines=sampling.recent_orders(console().sessions), areas=areas,
                           files=_listing("sampling"))


@blueprint.route("/sampling/orders", methods=["POST"])
@require("sample")
def sampling_orders():
    try:
        limit = max(1, min(int(request.form.get("limit") or 20), 500))
        quantity = max(1, min(int(request.form.get("quantity") or 1), 100))
    except ValueError:
        abort(400, "limit and quantity are whole numbers")
    try:
        batch = sampling.order(console().sessions, console().lists, console().config.out_dir, g.user.username,
                               area=request.form.get("area") or None, region=request.form.get("region") or None,
                               limit=limit, quantity=quantity)
    except UserError as exc:
        flash(("error", str(exc)))
        return redirect(url_for("casework.sampling_page"))
    flash(("ordered", batch.batch, str(batch.orders)))
    return redirect(url_for("casework.sampling_page"))


@blueprint.route("/sampling/<int:order_id>/result", methods=["POST"])
@require("sample")
def sampling_result(order_id: int):
    result = request.form.get("result")
    if result not in ("pass", "fail"):
        abort(400, "result is pass or fail")
    note = (request.form.get("note") or "").strip()[:2000] or None
    try:
        sampling.record(console().sessions, order_id, result, g.user.username, note)
    except UserError as exc:
        flash(("error", str(exc)))
    return redirect(url_for("casework.sampling_page"))


# -- reports ----------------------------------------------------------------------------------
@blueprint.route("/reports", methods=["GET", "POST"])
@require("view")
def reports():
    if request.method == "POST":
        from crawler.reports.periodic import PERIODS, write_report

        period = request.form.get("period", "week")
        if period not in PERIODS:
            abort(400, "period is week, month or quarter")
        result = write_report(console().sessions, console().lists, console().config.out_dir, period)
        return redirect(url_for("casework.out_file", kind="report", name=Path(result["html"]).name))
    return render_template("reports.html", reports=_listing("report"), digests=_listing("digest"))


# -- evidence ---------------------------------------------------------------------------------
@blueprint.route("/evidence")
@require("view")
def evidence():
    return render_template("evidence.html", packages=_listing("package") if _may("evidence") else [])


@blueprint.route("/evidence/export", methods=["POST"])
@require("evidence")
def evidence_export():
    raw = request.form.get("ids", "")
    ids = [int(part) for part in re.split(r"[\s,，]+", raw) if part.isdigit()][:500]
    if not ids:
        flash(("error", "0"))
        return redirect(url_for("casework.evidence"))
    return export_packages(ids)


def export_packages(ids: list[int]):
    """Export the cases `ids` as signed packages for the signed-in account (the evidence page's
    form and the queue's bulk action); the evidence page says what was written and skipped."""
    config = console().config
    try:
        result = app_evidence.export(config, console().sessions, ids, config.out_dir / "packages",
                                     app_evidence.store_of(config), None, g.user.username)
    except UserError as exc:
        flash(("error", str(exc)))
        return redirect(url_for("casework.evidence"))
    flash(("exported", str(len(result.written)), "; ".join(f"#{i}: {why}" for i, why in result.skipped)))
    return redirect(url_for("casework.evidence"))


@blueprint.route("/evidence/verify", methods=["POST"])
@require("evidence")
def evidence_verify():
    upload = request.files.get("package")
    if upload is None or not upload.filename:
        abort(400, "choose a package file")
    shown = Path(upload.filename).name[:200]
    with tempfile.TemporaryDirectory(prefix="lijian-verify-") as folder:
        path = Path(folder) / "package.zip"
        upload.save(path)
        outcome = app_evidence.verify(console().config, path)
    return render_template("verify.html", name=shown, outcome=outcome)
