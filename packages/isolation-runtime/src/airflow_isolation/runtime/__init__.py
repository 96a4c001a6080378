"""Target side of airflow-isolation: ``python -m airflow_isolation.runtime``.

Kept import-light on purpose: nothing here imports Airflow until the request says it is needed.
"""

from airflow_isolation.runtime.__about__ import __version__

__all__ = ["__version__"]
