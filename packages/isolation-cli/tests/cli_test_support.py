"""Helpers the CLI tests import (conftest puts this folder on sys.path)."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from airflow_isolation.cli.main import app


def run_cli(*args: str) -> Result:
    """Invoke ``isolationctl`` in-process with stdout and stderr kept apart (old and new typer)."""
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    return runner.invoke(app, list(args), catch_exceptions=False)
