"""What ``[isolation] venv_sandbox`` makes of this worker's :func:`availability`.

``auto`` (the default) sandboxes where the machine allows it, and otherwise runs the task
unsandboxed with a notice for its log: a worker whose kernel or container forbids user namespaces
keeps working, and says so on every task instead of pretending. ``required`` refuses to run a task
unsandboxed, before it starts; ``off`` never sandboxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from airflow_isolation.workspace.sandbox.availability import Availability, availability

MODES = ("auto", "required", "off")


class SandboxModeError(ValueError):
    """A ``venv_sandbox`` value that is not one of :data:`MODES`."""


class SandboxUnavailable(RuntimeError):
    """``venv_sandbox = required`` on a worker that cannot have the sandbox."""


@dataclass(frozen=True)
class Decision:
    sandboxed: bool
    availability: Optional[Availability]
    notice: Optional[str] = None
    """For the task log when a task runs unsandboxed because of ``auto``."""


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise SandboxModeError(
            f"[isolation] venv_sandbox = {mode!r} is not one of {', '.join(MODES)}: "
            "auto sandboxes where the machine allows it, required fails tasks that cannot be, "
            "off never sandboxes"
        )
    return mode


def decide(mode: str) -> Decision:
    """Whether a venv task runs sandboxed here; raises ``SandboxUnavailable`` under ``required``."""
    if check_mode(mode) == "off":
        return Decision(False, None)
    found = availability()
    if found.usable:
        return Decision(True, found)
    if mode == "required":
        raise SandboxUnavailable(
            f"[isolation] venv_sandbox = required, but this worker cannot sandbox venv tasks: "
            f"{found.reason}. Or set venv_sandbox = auto to run them unsandboxed here"
        )
    return Decision(
        False,
        found,
        notice=(
            f"[airflow-isolation] running unsandboxed: {found.reason} ([isolation] venv_sandbox = auto; "
            "this task can read what the worker's user can: set venv_sandbox = required to refuse that)"
        ),
    )
