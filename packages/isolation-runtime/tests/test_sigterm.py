"""SIGTERM reaches the task as Airflow's task runners deliver it: ``on_kill`` on the very operator
instance that runs, then the task ends as a failure with a result (the host's Airflow 3 here)."""

from __future__ import annotations

import signal
import textwrap
import time
from pathlib import Path

import msgspec
from runtime_test_support import callable_from_source, result_of, start

from airflow_isolation.core import OperatorSpec

OPERATOR_MODULE = """
    import time
    from pathlib import Path

    from airflow.sdk import BaseOperator


    class Sleepy(BaseOperator):
        def __init__(self, folder, **kwargs):
            super().__init__(**kwargs)
            self.folder = folder

        def execute(self, context):
            self.started_at = time.time()  # only the instance that runs has it
            Path(self.folder, "started").write_text("started")
            time.sleep(300)

        def on_kill(self):
            Path(self.folder, "on_kill").write_text(f"on_kill of the run started at {self.started_at}")
"""

SLEEPER = """
    def sleeper(folder):
        import pathlib
        import time

        try:  # started inside the try: a SIGTERM right after the file appears must reach finally
            pathlib.Path(folder, "started").write_text("started")
            time.sleep(300)
        finally:
            pathlib.Path(folder, "finally").write_text("finally ran")
"""


def _wait_for(path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)


def test_sigterm_runs_on_kill_of_the_running_operator_and_fails_the_task(tmp_path: Path) -> None:
    (tmp_path / "sleepy_operators.py").write_text(textwrap.dedent(OPERATOR_MODULE))
    spec = OperatorSpec("sleepy_operators.Sleepy", {"folder": str(tmp_path)})
    target = start(spec, tmp_path, env={"PYTHONPATH": str(tmp_path)})
    _wait_for(tmp_path / "started")
    target.send_signal(signal.SIGTERM)
    output, _ = target.communicate(timeout=60)
    assert target.returncode == 1, output
    assert (tmp_path / "on_kill").read_text().startswith("on_kill of the run started at ")
    result = result_of(tmp_path)
    assert result.status == "failed" and result.error is not None
    assert result.error.type == "airflow_isolation.runtime.process.sigterm.TaskTerminated"
    assert "received SIGTERM and stopped the task: execution_timeout" in result.error.message
    assert "received SIGTERM: stopping the task (on_kill)" in output


def test_sigterm_raises_in_a_callable_so_its_finally_runs(tmp_path: Path) -> None:
    sleeper = msgspec.structs.replace(callable_from_source(SLEEPER), args=[str(tmp_path)])
    target = start(sleeper, tmp_path)
    _wait_for(tmp_path / "started")
    target.send_signal(signal.SIGTERM)
    output, _ = target.communicate(timeout=60)
    assert target.returncode == 1, output
    assert (tmp_path / "finally").read_text() == "finally ran"
    assert result_of(tmp_path).error.type.endswith("TaskTerminated")  # type: ignore[union-attr]
