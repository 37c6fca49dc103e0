"""What a campaign run came to: its status, why, and the counts a notification reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunOutcome:
    run_id: int | None
    status: str  # finished | failed | interrupted | skipped
    reason: str | None = None
    suspects_new: int = 0
    stages: dict[str, Any] = field(default_factory=dict)
