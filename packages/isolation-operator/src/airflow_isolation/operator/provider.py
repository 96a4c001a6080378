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
                        "description": "Backend of tasks that do not pass backend=...: venv, docker or "
                        "kubernetes. Unset: default_backend of the isolation.toml named by "
                        "AIRFLOW__ISOLATION__SETTINGS_FILE, else venv.",
                        "version_added": "0.2.0",
                        "type": "string",
                        "example": "docker",
                        "default": None,
                    },
                    "kubernetes_namespace": {
                        "description": "Namespace of the pods and request Secrets of backend='kubernetes' "
                        "tasks (a task's backend_options namespace overrides it). Unset: the "
                        "Kubernetes connection's namespace.",
                        "version_added": "0.3.0",
                        "type": "string",
                        "example": "airflow-tasks",
                        "default": None,
                    },
                    "kubernetes_sweep_grace_seconds": {
                        "description": "How old an unowned request Secret of backend='kubernetes' "
                        "(left by a worker killed before its pod existed) must be before a run's sweep "
                        "deletes it. Unset: 600.",
                        "version_added": "0.3.0",
                        "type": "float",
                        "example": "600",
                        "default": None,
                    },
                    "kubernetes_conn_id": {
                        "description": "Kubernetes connection of backend='kubernetes' tasks. Unset: "
                        "kubernetes_default (the KubernetesPodOperator's default).",
                        "version_added": "0.3.0",
                        "type": "string",
                        "example": "kubernetes_default",
                        "default": None,
                    },
                    "image_registry": {
                        "description": "Registry the cluster pulls environment images from (where "
                        "`isolationctl env push --registry` put them).",
                        "version_added": "0.3.0",
                        "type": "string",
                        "example": "registry.example.com:5000",
                        "default": None,
                    },
                    "image_pull_policy": {
                        "description": "imagePullPolicy of environment pods: Always, IfNotPresent or Never. "
                        "Unset: Kubernetes' default. Images are tagged by content hash, so IfNotPresent "
                        "is safe.",
                        "version_added": "0.3.0",
                        "type": "string",
                        "example": "IfNotPresent",
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
