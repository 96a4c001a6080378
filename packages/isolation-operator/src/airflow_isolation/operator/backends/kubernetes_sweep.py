"""The Kubernetes request Secret sweep under the name earlier releases documented; it lives in
``kubernetes.sweep``.

``python -m airflow_isolation.operator.backends.kubernetes_sweep --namespace NS`` keeps working for
cron jobs and scripts written against it.
"""

from airflow_isolation.operator.backends.kubernetes.sweep import main, sweep_request_secrets

__all__ = ["main", "sweep_request_secrets"]

if __name__ == "__main__":
    raise SystemExit(main())
