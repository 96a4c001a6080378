"""How the task's container ended when it left no result, from the pod's container status.

The KubernetesPodOperator only says "Pod ... returned a failure"; the kubelet knows more: the
out-of-memory killer (``terminated.reason == "OOMKilled"``), a signal (exit code 128 + N), or a plain
exit code. Each calls for a different fix, so the task's error names which one it was.
"""

from __future__ import annotations

import dataclasses
import signal
from typing import Any, Optional

from airflow_isolation.operator.backends.kubernetes.options import KubernetesOptions


@dataclasses.dataclass(frozen=True)
class ContainerExit:
    exit_code: int
    detail: str


def _terminated(pod: Any, container: str) -> Any:
    statuses = list(getattr(getattr(pod, "status", None), "container_statuses", None) or [])
    for status in statuses:
        if status.name != container:
            continue
        for state in (status.state, status.last_state):
            terminated = getattr(state, "terminated", None)
            if terminated is not None:
                return terminated
    return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "an unknown signal"


def container_exit(pod: Any, container: str, options: KubernetesOptions) -> Optional[ContainerExit]:
    """``None`` when the container never terminated (never started, still running, pod gone)."""
    terminated = _terminated(pod, container)
    if terminated is None:
        return None
    code = int(terminated.exit_code or 0)
    limits = options.container_resources.limits if options.container_resources else {}
    if terminated.reason == "OOMKilled":
        if "memory" not in limits:
            return ContainerExit(
                code,
                "was killed by the out-of-memory killer (no memory limit set: the node ran out of "
                'memory): set container_resources={"limits": {"memory": ...}} in backend_options and '
                "run it where that much is free",
            )
        return ContainerExit(
            code,
            f"was killed by the out-of-memory killer (container memory limit {limits['memory']}): "
            'raise container_resources["limits"]["memory"] in backend_options',
        )
    if code > 128:
        number = code - 128
        return ContainerExit(
            code,
            f"was killed by {_signal_name(number)} (signal {number}, exit code {code}), not by the "
            "out-of-memory killer: its own code or something in the pod killed its process, or the "
            "pod was deleted",
        )
    reason = f", {terminated.reason}" if terminated.reason and terminated.reason != "Error" else ""
    return ContainerExit(code, f"exited with code {code}{reason}")
