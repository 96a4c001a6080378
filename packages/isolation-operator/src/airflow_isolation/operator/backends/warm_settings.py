"""The warm-start settings every backend with a warm path shares, and the private folder it keeps.

Airflow configuration ``[isolation]``: ``warm_runtime`` (default ``True``;
``AIRFLOW__ISOLATION__WARM_RUNTIME=False`` turns warm starts off for the worker: the venv
backend's warm runtime and the Docker backend's container pool) and ``warm_runtime_idle_seconds``
(default 600: how long a warm runtime or a pooled container waits for a task before it exits).
A task turns them off for itself with ``backend_options={"warm": False}``. Where a venv warm runtime
listens and how it is started is ``airflow_isolation.workspace.warm_runtime``, shared with
``isolationctl env warm``.
"""

from __future__ import annotations

from airflow_isolation.workspace import warm_runtime


def warm_enabled() -> bool:
    from airflow_isolation.operator import airflow_compat as compat

    value = compat.get_conf("isolation", "warm_runtime")
    return value is None or value.strip().lower() not in ("false", "0", "no", "off")


def idle_seconds() -> float:
    from airflow_isolation.operator import airflow_compat as compat

    return warm_runtime.idle_seconds(compat.get_conf("isolation", warm_runtime.IDLE_KEY))
