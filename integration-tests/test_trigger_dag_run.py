"""``TriggerDagRunOperator`` run isolated triggers, waits and defers, for a real scheduler and
triggerer, as the same operator run natively.

One DAG holds each case natively and isolated (venv backend, Airflow 3.1 and 2.10 targets) and runs
in a deployment of its own (``deployment.py``: scheduler, dag-processor, triggerer, LocalExecutor,
api-server): a plain trigger, a ``wait_for_completion`` wait (the host's task runner polls the run),
one whose triggered run fails, and a deferrable wait (the host's triggerer runs ``DagStateTrigger``,
then the task resumes with ``execute_complete`` in the target). Compared with the native twins:
the task's state and try, the triggered run (its id, conf and state) and the ``trigger_run_id``
XCom the host's task runner pushes. The deferrable wait on an Airflow 2 target fails before any run
is created, naming the fix: its ``execute_complete`` reads the metadata database.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Dict, List

from deployment import Deployment, airflow_deployment

DAG_ID = "isolated_trigger_dag_run"
TRIGGERED = "triggered_by_isolation"
RUN_ID = "trigger_1"
VARIANTS = ("native", "af31", "af210")
KINDS = ("plain", "wait", "wait_fails", "deferred")

DAG = """
import pendulum
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, task

from airflow_isolation.operator import IsolatedOperator

START = pendulum.datetime(2024, 1, 1)
KINDS = {{
    "plain": {{}},
    "wait": {{"wait_for_completion": True, "poke_interval": 2}},
    "wait_fails": {{"wait_for_completion": True, "poke_interval": 2, "failed_states": ["failed"]}},
    "deferred": {{"wait_for_completion": True, "poke_interval": 2, "deferrable": True}},
}}

with DAG("{triggered}", start_date=START, schedule=None, catchup=False, is_paused_upon_creation=False):

    @task
    def record(dag_run=None):
        assert not dag_run.conf.get("fail"), "this run fails on purpose"
        return dict(dag_run.conf)

    record()

with DAG("{dag_id}", start_date=START, schedule=None, catchup=False, is_paused_upon_creation=False):
    for variant in {variants!r}:
        for kind, options in KINDS.items():
            arguments = dict(
                task_id=f"{{kind}}_{{variant}}",
                trigger_dag_id="{triggered}",
                trigger_run_id=f"{{variant}}_{{kind}}_" + "{{{{ run_id }}}}",
                conf={{"by": variant, "kind": kind, "fail": kind == "wait_fails"}},
                **options,
            )
            if variant == "native":
                TriggerDagRunOperator(**arguments)
            else:
                IsolatedOperator(environment=variant, operator=TriggerDagRunOperator, **arguments)
"""


def _task_instances(airflow: Deployment) -> Dict[str, tuple]:
    rows = airflow.query(
        "select task_id, state, try_number from task_instance where dag_id = ? and run_id = ?", DAG_ID, RUN_ID
    )
    return {task_id: (state, try_number) for task_id, state, try_number in rows}


def _triggered_runs(airflow: Deployment) -> Dict[str, tuple]:
    rows = airflow.query("select run_id, state, conf from dag_run where dag_id = ?", TRIGGERED)
    return {run_id: (state, _conf(conf)) for run_id, state, conf in rows}


def _conf(value: object) -> object:
    if isinstance(value, (bytes, str)):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _trigger_run_ids(airflow: Deployment) -> Dict[str, object]:
    rows = airflow.query(
        "select task_id, value from xcom where dag_id = ? and run_id = ? and key = 'trigger_run_id'",
        DAG_ID,
        RUN_ID,
    )
    return {task_id: json.loads(value) for task_id, value in rows}


def _expected_state(variant: str, kind: str) -> str:
    if kind == "wait_fails" or (kind == "deferred" and variant == "af210"):
        return "failed"
    return "success"


def test_trigger_dag_run_operator_under_a_scheduler_and_triggerer(
    tmp_path: Path, built_envs: List[str]
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    source = DAG.format(dag_id=DAG_ID, triggered=TRIGGERED, variants=VARIANTS)
    (dags / "trigger_dag_run.py").write_text(textwrap.dedent(source).lstrip())

    with airflow_deployment(tmp_path / "airflow", dags, {}) as airflow:
        airflow.wait_until_serving(DAG_ID)
        airflow.wait_until_serving(TRIGGERED)
        airflow.run_to_its_end(DAG_ID, RUN_ID)
        instances = _task_instances(airflow)
        runs = _triggered_runs(airflow)
        pushed = _trigger_run_ids(airflow)
        logs = {task: airflow.log_tails(DAG_ID, RUN_ID, [task], lines=60) for task in instances}

    expected = {f"{kind}_{v}": (_expected_state(v, kind), 1) for v in VARIANTS for kind in KINDS}
    wrong = sorted(task for task, outcome in expected.items() if instances.get(task) != outcome)
    assert not wrong, f"{instances}\n" + "\n".join(logs.get(task, "") for task in wrong)

    for variant in VARIANTS:
        for kind in KINDS:
            task_id, run_id = f"{kind}_{variant}", f"{variant}_{kind}_{RUN_ID}"
            if kind == "deferred" and variant == "af210":
                assert run_id not in runs, runs
                assert "deferrable=False" in logs[task_id], logs[task_id]
                continue
            state, conf = runs.get(run_id, (None, None))
            assert conf == {"by": variant, "kind": kind, "fail": kind == "wait_fails"}, (run_id, runs)
            if kind != "plain":  # a plain trigger does not wait: its run may still be going
                assert state == ("failed" if kind == "wait_fails" else "success"), (run_id, state)
            assert pushed.get(task_id) == run_id, (task_id, pushed)
    for variant in ("native", "af31"):
        log = logs[f"deferred_{variant}"]
        assert "DEFERRED" in log.upper(), f"deferred_{variant} did not defer:\n{log}"
    for variant in ("af31", "af210"):
        assert "the host's Airflow triggers it" in logs[f"plain_{variant}"], logs[f"plain_{variant}"]
