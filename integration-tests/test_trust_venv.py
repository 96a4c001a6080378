"""The venv backend closes every door of the worker (DESIGN.md §8), run as a user runs a DAG.

``trust_probe_venv_*`` (``dags/trust_probe.py``) are probe tasks under ``airflow dags test``: warm
(an environment with Airflow 3 and one without Airflow) and cold, each once more with
``network="none"`` against a loopback listener of this test. Each fails naming every door it finds
open. The same DAGs with ``venv_sandbox = off`` show that the probe does find those doors when the
sandbox is not there, so a probe that passes is not one that cannot fail. ``venv_sandbox`` on a
worker whose user namespaces are forbidden (the limit of a user namespace of its own set to 0, as a
container's seccomp profile or a kernel setting does) falls back under ``auto`` and says why, and
fails the task under ``required``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
from harness import TEST_DAGS, DagRunReport, host_env, return_value, run_dag, task_states

pytestmark = pytest.mark.usefixtures("airflow_db", "built_envs")

VENV_CELLS = ["venv_af31", "venv_plain", "venv_plain_cold"]


def _probe(cell: str, env: Dict[str, str]) -> DagRunReport:
    return run_dag(f"trust_probe_{cell}", env, dag_file=TEST_DAGS / "trust_probe.py")


@pytest.mark.parametrize("cell", VENV_CELLS)
def test_a_sandboxed_task_finds_every_door_closed(cell: str, probe_env: Dict[str, str]) -> None:
    report = _probe(cell, probe_env)
    assert report.states == {"probe": "success", "probe_network_none": "success"}, report.output[-8000:]
    assert "running unsandboxed" not in report.output
    assert probe_env["TRUST_PROBE_SECRET"] not in report.output


def _open_doors(output: str) -> str:
    return "\n".join(line for line in output.splitlines() if "open doors:" in line)


def test_the_probe_finds_the_doors_open_without_the_sandbox(probe_env: Dict[str, str]) -> None:
    """The control: the same probe, sandbox off, finds what it looks for (a probe that cannot find
    anything would pass the test above too)."""
    report = _probe("venv_plain_cold", {**probe_env, "AIRFLOW__ISOLATION__VENV_SANDBOX": "off"})
    assert report.states == {"probe": "failed", "probe_network_none": "failed"}, report.output[-8000:]
    found = _open_doors(report.output)
    for door in ("airflow.cfg", "metadata database", "DAGs folder", "another task's request",
                 "worker's home", "environ", "build path", "warm runtime sockets"):  # fmt: skip
        assert door in found, f"without the sandbox the probe should open {door!r}:\n{found}"
    assert "own environment" not in found, "the allowlist holds unsandboxed too"
    assert "backend_options network='none' need the venv sandbox" in report.output, (
        "a task asking to cut its network must not run with it"
    )


FORBID_USER_NAMESPACES = 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"'


def _run_without_user_namespaces(dag_id: str, env: Dict[str, str]) -> DagRunReport:
    """``airflow dags test`` in a user namespace of its own whose limit of further user namespaces
    is 0: bubblewrap then fails as it does where a kernel or a container forbids them."""
    airflow = str(Path(sys.executable).parent / "airflow")
    args = ["dags", "test", dag_id, "2024-01-02", "--dagfile-path", str(TEST_DAGS / "trust_probe.py")]
    command = [
        "unshare",
        "--user",
        "--map-root-user",
        "sh",
        "-c",
        FORBID_USER_NAMESPACES,
        "sh",
        airflow,
        *args,
    ]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=False)
    return DagRunReport(dag_id, task_states(dag_id), proc.stdout + proc.stderr)


def test_auto_falls_back_where_user_namespaces_are_forbidden_and_says_why() -> None:
    report = _run_without_user_namespaces("trust_sandbox_mode", host_env())
    assert report.states == {"where": "success"}, report.output[-8000:]
    notices: List[str] = [line for line in report.output.splitlines() if "running unsandboxed" in line]
    assert notices and "nesting depth or /proc/sys/user/max_*_namespaces exceeded" in notices[0], notices
    assert "venv_sandbox = required" in notices[0], "the notice names how to refuse instead"


def test_required_fails_before_the_task_runs_naming_the_reason() -> None:
    env = {**host_env(), "AIRFLOW__ISOLATION__VENV_SANDBOX": "required"}
    report = _run_without_user_namespaces("trust_sandbox_mode", env)
    assert report.states == {"where": "failed"}, report.output[-8000:]
    assert "venv_sandbox = required, but this worker cannot sandbox venv tasks" in report.output
    assert "max_*_namespaces exceeded" in report.output and "user namespaces" in report.output


def test_a_task_runs_sandboxed_by_default_and_not_with_off() -> None:
    for mode, first_process in (("auto", "bwrap"), ("off", None)):
        env = {**host_env(), "AIRFLOW__ISOLATION__VENV_SANDBOX": mode}
        report = run_dag("trust_sandbox_mode", env, dag_file=TEST_DAGS / "trust_probe.py")
        assert report.states == {"where": "success"}, report.output[-8000:]
        found = return_value("trust_sandbox_mode", "where")
        assert (found == first_process) if first_process else found != "bwrap", (mode, found)
