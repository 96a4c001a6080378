"""Import target for Airflow 3.3's provider example-DAG discovery.

Airflow derives a module name from each provider's distribution name (``airflow-isolation-operator``
→ ``airflow_isolation_operator``) and logs a traceback when it cannot import it
(apache/airflow#66305). This empty module lets that lookup succeed; the code lives in
``airflow_isolation.operator``.
"""
