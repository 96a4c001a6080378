"""The Docker sweep under the name earlier releases documented; it lives in ``docker.sweep``.

``python -m airflow_isolation.operator.backends.docker_sweep`` and ``sweep_orphans`` keep working
for cron jobs and scripts written against it.
"""

from airflow_isolation.operator.backends.docker.sweep import main, sweep_orphans

__all__ = ["main", "sweep_orphans"]

if __name__ == "__main__":
    raise SystemExit(main())
