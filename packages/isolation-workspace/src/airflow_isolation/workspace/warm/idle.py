"""How long a warm runtime (or a standby container) waits for a task before it exits.

``[isolation] warm_runtime_idle_seconds``: read by the caller (the operator from Airflow's
configuration, the CLI from its configuration sources), judged here so both agree on the default.
"""

from __future__ import annotations

from typing import Optional

IDLE_KEY = "warm_runtime_idle_seconds"
DEFAULT_IDLE_SECONDS = 600.0


def idle_seconds(value: Optional[str]) -> float:
    """``[isolation] warm_runtime_idle_seconds`` as read by the caller; the default when unset or bad."""
    try:
        return float(value) if value else DEFAULT_IDLE_SECONDS
    except ValueError:
        return DEFAULT_IDLE_SECONDS
