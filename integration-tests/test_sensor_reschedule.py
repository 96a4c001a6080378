"""A sensor in ``mode="reschedule"`` run isolated behaves, for a real scheduler, as the same sensor run
natively.

One DAG holds each sensor twice, natively and isolated (venv backend, Airflow 3.1 and 2.10 targets),
and runs in a deployment of its own (``deployment.py``: scheduler, LocalExecutor, api-server):
a sensor whose condition holds on its third poke, one that never holds and times out, and the same
with ``soft_fail``. Compared with the native run: the task went through ``up_for_reschedule`` (its
task reschedules), each try started no earlier than the reschedule date the previous one asked for
(the scheduler waited), the final state, the try number (reschedules use no try; a sensor timeout
fails without retry) and the XCom the sensor returned.

The scheduler is Airflow 3's (``deployment.py``), which waits for the reschedule date of any task in
``up_for_reschedule``; Airflow 2.10's waits only for a task whose ``deps`` hold
``ReadyToRescheduleDep`` and whose ``reschedule`` is true, which the wrapper's serialized form is
checked for in ``packages/isolation-operator/tests/test_sensor_traits.py`` on each host Airflow.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path
from typing import Dict, List, Tuple

from deployment import Deployment, airflow_deployment

DAG_ID = "isolated_sensor_reschedule"
RUN_ID = "reschedule_1"
TARGETS = ("af31", "af210")
POKE_SECONDS = 10
"""Not shorter: a task whose reschedule date passes before the scheduler has processed its
executor's report of the previous try is queued again, and the late report then fails it ("finished
with state success, but the task instance's state attribute is queued"), natively as isolated.
Seen at 1 s and at 5 s on a loaded two-core machine, where that report came up to 5 s late."""
TIMEOUT_SECONDS = 25

DAG = '''
import pendulum
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG

from airflow_isolation.operator import IsolatedOperator

SENSOR = "airflow.providers.standard.sensors.python.PythonSensor"


def third_poke(records, name):
    """True on the third poke, with a value for XCom (the file counts the pokes)."""
    import pathlib

    try:
        from airflow.sdk import PokeReturnValue
    except ImportError:
        from airflow.sensors.base import PokeReturnValue

    path = pathlib.Path(records) / name
    pokes = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(pokes))
    return PokeReturnValue(is_done=pokes >= 3, xcom_value={{"pokes": pokes, "found": [1, 2]}})


def never():
    return False


READY = {{"mode": "reschedule", "poke_interval": {poke}, "python_callable": third_poke}}
SHARED = {{"mounts": [{{"source": "{records}", "read_only": False}}]}}
NEVER = {{
    "mode": "reschedule", "poke_interval": {poke}, "timeout": {timeout}, "python_callable": never,
    "retries": 2,
}}

with DAG(
    "{dag_id}", start_date=pendulum.datetime(2024, 1, 1), schedule=None, catchup=False,
    is_paused_upon_creation=False,
):
    PythonSensor(task_id="ready_native", op_args=["{records}", "ready_native"], **READY)
    PythonSensor(task_id="timeout_native", **NEVER)
    PythonSensor(task_id="soft_native", soft_fail=True, **NEVER)
    for env in {targets!r}:
        IsolatedOperator(
            task_id=f"ready_{{env}}", environment=env, operator=SENSOR,
            op_args=["{records}", f"ready_{{env}}"], backend_options=SHARED, **READY,
        )
        IsolatedOperator(task_id=f"timeout_{{env}}", environment=env, operator=SENSOR, **NEVER)
        IsolatedOperator(task_id=f"soft_{{env}}", environment=env, operator=SENSOR, soft_fail=True, **NEVER)
'''


def _when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).replace(tzinfo=None)


def _reschedules(airflow: Deployment) -> Dict[str, List[Tuple[dt.datetime, dt.datetime]]]:
    """Per task, each reschedule's ``(start_date, reschedule_date)``, in order."""
    rows = airflow.query(
        "select ti.task_id, tr.start_date, tr.reschedule_date from task_reschedule tr "
        "join task_instance ti on tr.ti_id = ti.id where ti.dag_id = ? and ti.run_id = ? order by tr.id",
        DAG_ID,
        RUN_ID,
    )
    found: Dict[str, List[Tuple[dt.datetime, dt.datetime]]] = {}
    for task_id, start, when in rows:
        found.setdefault(task_id, []).append((_when(start), _when(when)))
    return found


def _task_instances(airflow: Deployment) -> Dict[str, Tuple[str, int]]:
    rows = airflow.query(
        "select task_id, state, try_number from task_instance where dag_id = ? and run_id = ?", DAG_ID, RUN_ID
    )
    return {task_id: (state, try_number) for task_id, state, try_number in rows}


def _return_values(airflow: Deployment) -> Dict[str, object]:
    rows = airflow.query(
        "select task_id, value from xcom where dag_id = ? and run_id = ? and key = 'return_value'",
        DAG_ID,
        RUN_ID,
    )
    return {task_id: json.loads(value) for task_id, value in rows}


def test_reschedule_mode_sensors_under_a_scheduler(tmp_path: Path, built_envs: List[str]) -> None:
    dags, records = tmp_path / "dags", tmp_path / "records"
    dags.mkdir()
    records.mkdir()
    source = DAG.format(
        dag_id=DAG_ID, records=records, targets=TARGETS, poke=POKE_SECONDS, timeout=TIMEOUT_SECONDS
    )
    (dags / "sensor_reschedule.py").write_text(textwrap.dedent(source).lstrip())

    with airflow_deployment(tmp_path / "airflow", dags, {}) as airflow:
        airflow.wait_until_serving(DAG_ID)
        airflow.run_to_its_end(DAG_ID, RUN_ID)
        instances = _task_instances(airflow)
        reschedules = _reschedules(airflow)
        values = _return_values(airflow)
        logs = {task: airflow.log_tails(DAG_ID, RUN_ID, [task], lines=80) for task in instances}

    expected: Dict[str, Tuple[str, int]] = {}
    for variant in ("native", *TARGETS):
        expected.update({f"ready_{variant}": ("success", 1), f"timeout_{variant}": ("failed", 1),
                         f"soft_{variant}": ("skipped", 1)})  # fmt: skip
    wrong = sorted(task for task, outcome in expected.items() if instances.get(task) != outcome)
    assert not wrong, f"{instances}\n" + "\n".join(logs.get(task, "") for task in wrong)
    for variant in ("native", *TARGETS):
        assert (records / f"ready_{variant}").read_text() == "3", variant
        assert values[f"ready_{variant}"] == {"pokes": 3, "found": [1, 2]}, (variant, values)
        assert len(reschedules[f"ready_{variant}"]) == 2, (variant, reschedules)
        for task in ("ready", "timeout", "soft"):
            tries = reschedules.get(f"{task}_{variant}", [])
            assert tries, f"{task}_{variant} was never up_for_reschedule: {reschedules}"
            for (_, asked), (started, _) in zip(tries, tries[1:]):
                assert started >= asked, f"{task}_{variant} ran again before its reschedule date: {tries}"
