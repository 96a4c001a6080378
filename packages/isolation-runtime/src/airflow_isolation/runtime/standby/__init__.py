"""A standby container's runtime: the Docker backend starts containers ahead of their tasks, each
waiting in this process for one task (``python -m airflow_isolation.runtime.standby``)."""
