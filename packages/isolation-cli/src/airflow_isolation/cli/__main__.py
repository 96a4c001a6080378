"""``python -m airflow_isolation.cli`` works where the console script is not on PATH."""

from airflow_isolation.cli.main import app

if __name__ == "__main__":
    app(prog_name="isolationctl")
