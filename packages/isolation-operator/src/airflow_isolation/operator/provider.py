"""Airflow provider registration (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any, Dict

from airflow_isolation.operator.__about__ import __version__


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
            "isolation": {
                "description": "Where airflow-isolation finds environment definitions and builds, and "
                "which backend tasks use by default.",
                "options": {
                    "environments_path": {
                        "description": "Folder holding one sub-folder per environment (environment.toml).",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/opt/airflow/environments",
                        "default": None,
                    },
                    "default_backend": {
                        "description": "Backend of tasks that do not pass backend=...: venv or docker. "
                        "Unset: default_backend of the isolation.toml named by "
                        "AIRFLOW__ISOLATION__SETTINGS_FILE, else venv.",
                        "version_added": "0.2.0",
                        "type": "string",
                        "example": "docker",
                        "default": None,
                    },
                    "build_path": {
                        "description": "Where `isolationctl env build` puts built environments.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/opt/airflow/isolation-builds",
                        "default": None,
                    },
                },
            }
        },
    }
