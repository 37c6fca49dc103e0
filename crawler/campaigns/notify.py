"""Notifications of a campaign run: a webhook POST and an e-mail, when a run fails, finds at
least the campaign's threshold of new suspects, or meets a login wall with a session (its
session expired: a fresh one must be imported)."""

from __future__ import annotations

import json
import smtplib
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from crawler.campaigns.outcome import RunOutcome
from crawler.config import Config
from crawler.storage.models import Campaign


def notify(config: Config, campaign: Campaign, outcome: RunOutcome, emit: Callable[..., None]) -> None:
    """A run that failed, or found at least the campaign's threshold of new suspects, is sent
    to the webhook and/or by e-mail when those are configured. Failures are logged, not raised."""
    failed = outcome.status in ("failed", "interrupted")
    many = campaign.notify_threshold is not None and outcome.suspects_new >= campaign.notify_threshold
    degraded = str((outcome.stages.get("crawl") or {}).get("degraded") or "")
    expired = "session expired" in degraded
    if not (failed or many or expired) or not (config.notify_webhook or (config.smtp_url and config.notify_email)):
        return
    reason = ("run failed" if failed else f"session expired: {degraded}" if expired
              else f"{outcome.suspects_new} new suspects")
    payload = {"campaign": campaign.name, "run": outcome.run_id, "status": outcome.status, "reason": outcome.reason,
               "suspects_new": outcome.suspects_new, "why": reason}
    subject = f"[利剑监测] {campaign.name}: " + ("运行失败" if failed else "登录会话已过期 session expired" if expired
                                                else f"新增可疑商品 {outcome.suspects_new} 件")
    if config.notify_webhook:
        try:
            request = urllib.request.Request(config.notify_webhook, data=json.dumps(payload, ensure_ascii=False)
                                             .encode("utf-8"), headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                emit("notified", campaign=campaign.name, run=outcome.run_id, via="webhook", status=response.status)
        except OSError as exc:
            emit("notify_failed", campaign=campaign.name, run=outcome.run_id, via="webhook", error=str(exc))
    if config.smtp_url and config.notify_email:
        try:
            send_mail(config.smtp_url, config.notify_email, subject,
                      json.dumps(payload, ensure_ascii=False, indent=1))
            emit("notified", campaign=campaign.name, run=outcome.run_id, via="email")
        except (OSError, smtplib.SMTPException) as exc:
            emit("notify_failed", campaign=campaign.name, run=outcome.run_id, via="email", error=str(exc))


def send_mail(smtp_url: str, to: str, subject: str, body: str) -> None:
    """smtp://[user:password@]host[:port] (smtps:// for TLS from the start; STARTTLS when offered)."""
    parts = urlsplit(smtp_url)
    message = EmailMessage()
    message["From"] = unquote(parts.username or "lijian") + "@" + (parts.hostname or "localhost")
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    with smtp_class(parts.hostname or "localhost", parts.port or (465 if parts.scheme == "smtps" else 25),
                    timeout=10) as smtp:
        smtp.ehlo()
        if parts.scheme == "smtp" and smtp.has_extn("starttls"):
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)
