"""isolationctl: the command line side of airflow-isolation (environments, venv builds, doctor)."""

from airflow_isolation.cli.__about__ import __version__

__all__ = ["__version__"]
