"""Airflow provider registration (entry point ``apache_airflow_provider``).

The ``config`` part is generated from the settings table, in the shape of a provider's
``provider.yaml``. Every ``default`` is declared ``None``: Airflow answers ``conf.get`` with a
provider's declared default, which would hide what comes after Airflow's configuration in our
order (the project's ``isolation.toml``, the defaults computed from ``$AIRFLOW_HOME``); the
readers apply the table's defaults themselves, and each description says what "unset" means.

Airflow imports this while it initialises its configuration, so it imports no Airflow.
"""

from __future__ import annotations

from typing import Any, Dict

from airflow_isolation.operator.__about__ import __version__
from airflow_isolation.workspace.settings_table import OPTIONS, SECTION, Option


def option_info(option: Option[Any]) -> Dict[str, Any]:
    return {
        "description": option.description,
        "version_added": option.version_added,
        "type": option.type,
        "example": option.example,
        "default": None,
    }


def get_provider_info() -> Dict[str, Any]:
    return {
        "package-name": "airflow-isolation-operator",
        "name": "Airflow Isolation",
        "description": "Run any Airflow operator or Python callable in an isolated environment "
        "(virtualenv, Docker, Kubernetes) with its own packages and Airflow version.",
        "versions": [__version__],
        "task-decorators": [
            {"name": "isolated", "class-name": "airflow_isolation.operator.decorator.isolated_task"}
        ],
        "config": {
            SECTION: {
                "description": "Where airflow-isolation finds environment definitions and builds, "
                "which backend tasks use by default, warm starts, and the Kubernetes backend.",
                "options": {option.name: option_info(option) for option in OPTIONS},
            }
        },
    }
