"""Environment definitions: writing ``environment.toml``, importing requirements, Airflow pins."""
