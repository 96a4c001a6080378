"""A warm runtime: one preloaded process per environment build that forks a child per task
(``python -m airflow_isolation.runtime.warm``, run by ``__main__``)."""
