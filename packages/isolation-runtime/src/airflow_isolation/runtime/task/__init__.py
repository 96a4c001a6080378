"""The task itself: rebuilding its operator or callable, its context and task instance, running it
under the target's Airflow (``airflow_compat``), and turning its outcome into a result."""
