"""Host side of airflow-isolation: ``IsolatedOperator`` and ``@task.isolated``.

Attributes are loaded lazily: Airflow imports this package (for
``config.provider_info.get_provider_info``) while it is still initialising its configuration, so
importing Airflow here would be circular.
"""

from typing import Any

from airflow_isolation.operator.__about__ import __version__

__all__ = ["IsolatedOperator", "__version__", "sweep_orphans"]


def __getattr__(name: str) -> Any:
    if name == "IsolatedOperator":
        from airflow_isolation.operator.operator import IsolatedOperator

        return IsolatedOperator
    if name == "sweep_orphans":
        from airflow_isolation.operator.backends.docker.sweep import sweep_orphans

        return sweep_orphans
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
