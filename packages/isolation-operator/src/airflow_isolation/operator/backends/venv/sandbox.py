"""Whether one venv run is sandboxed, in which profile, and what its log is told.

The worker's ``[isolation] venv_sandbox`` and what this machine allows decide
(``workspace.sandbox.decide``); the task's options add its mounts and network. A task that asks
for what only a sandbox gives (a mount at another path, ``network="none"``) is refused where there
is none, rather than run with the network it asked to be cut, or without the paths it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from airflow_isolation.operator.backends.venv.options import VenvOptions
from airflow_isolation.operator.config.settings import venv_sandbox
from airflow_isolation.workspace.sandbox import SandboxProfile, SandboxUnavailable, decide


@dataclass(frozen=True)
class SandboxPlan:
    profile: Optional[SandboxProfile]
    """``None``: the run is not sandboxed."""
    bwrap: str = "bwrap"
    notice: Optional[str] = None
    """Said once in the task's log: why it runs unsandboxed."""

    @property
    def sandboxed(self) -> bool:
        return self.profile is not None


def plan(options: VenvOptions) -> SandboxPlan:
    """The run's sandbox; raises ``SandboxUnavailable`` when it must have one and cannot."""
    mode = venv_sandbox()
    decision = decide(mode)
    if decision.sandboxed and decision.availability is not None:
        return SandboxPlan(options.profile, decision.availability.bwrap or "bwrap")
    asked = options.needs_sandbox
    if asked is not None:
        why = "venv_sandbox = off" if decision.availability is None else decision.availability.reason
        raise SandboxUnavailable(
            f"backend_options {asked} need the venv sandbox, which this worker does not use ({why}): "
            "remove them, or run the task where the sandbox is available "
            "(`isolationctl doctor` says why it is not here)"
        )
    return SandboxPlan(None, notice=decision.notice)
