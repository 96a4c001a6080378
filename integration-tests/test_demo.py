"""README command 1: the demo builds environments/example and runs the demo DAG end to end."""

from __future__ import annotations

import subprocess
import sys

from harness import REPO


def test_demo_runs_every_task_as_expected() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "All tasks ended as expected." in output
    assert "2.10.5" in output, "the target's Airflow version is not shown"
    assert "1.5.3" in output, "the target's pandas 1.x version is not shown"
