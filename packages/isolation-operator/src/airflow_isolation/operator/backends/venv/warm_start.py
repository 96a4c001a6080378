"""The worker's settings for warm runtimes, read from Airflow's configuration ``[isolation]``.

``warm_runtime`` (default ``True``; ``AIRFLOW__ISOLATION__WARM_RUNTIME=False`` turns it off for the
worker) and ``warm_runtime_idle_seconds`` (default 600). Where a warm runtime listens and how it
is started is ``airflow_isolation.workspace.warm_runtime``, shared with ``isolationctl env warm``.
"""

from __future__ import annotations

from airflow_isolation.workspace import warm_runtime


def warm_enabled() -> bool:
    from airflow_isolation.operator import compat

    value = compat.get_conf("isolation", "warm_runtime")
    return value is None or value.strip().lower() not in ("false", "0", "no", "off")


def idle_seconds() -> float:
    from airflow_isolation.operator import compat

    return warm_runtime.idle_seconds(compat.get_conf("isolation", warm_runtime.IDLE_KEY))
