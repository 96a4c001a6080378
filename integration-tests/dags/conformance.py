"""The conformance suite: the same tasks must give the same results in every target environment.

One DAG per environment and backend (``conformance_<env>`` on the venv backend,
``conformance_<env>_docker`` in the environment's image, ``conformance_<env>_kubernetes`` in a pod of
that image pulled from the registry it was pushed to); host-side ``check_*`` tasks assert the values
that came back, so a wrong type or value fails the run. The compatibility matrix names the one cell
it runs in ``ISOLATION_CONFORMANCE_CELLS`` (JSON ``[[dag_id, environment, backend, has_airflow]]``);
only those DAGs are built then, so a matrix run parses one DAG. The file parses on an Airflow 2.10
host as on 3.x.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pendulum
from airflow import __version__ as HOST_AIRFLOW

try:
    from airflow.sdk import DAG, Asset, task
except ImportError:  # an Airflow 2 host
    from airflow import DAG
    from airflow.datasets import Dataset as Asset
    from airflow.decorators import task
try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # an Airflow 2 host without the standard provider
    from airflow.operators.empty import EmptyOperator

try:
    from airflow.providers.standard.operators.python import ShortCircuitOperator
except ImportError:  # an Airflow 2 host without the standard provider
    from airflow.operators.python import ShortCircuitOperator

try:
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
except ImportError:  # an Airflow 2 host without the standard provider
    from airflow.operators.trigger_dagrun import TriggerDagRunOperator

from execute_hooks_operators import RETURNED, StepsOperator

from airflow_isolation.operator import IsolatedOperator

ENVIRONMENTS = {"af210": True, "af31": True, "plain": False}
DOCKER_ENVIRONMENTS = {"af210": True, "py313": False}
KUBERNETES_ENVIRONMENTS = {"af210": True, "af31": True, "py313": False}
CELLS = [(f"conformance_{name}", name, "venv", airflow) for name, airflow in ENVIRONMENTS.items()]
CELLS += [(f"conformance_{n}_docker", n, "docker", airflow) for n, airflow in DOCKER_ENVIRONMENTS.items()]
CELLS += [(f"conformance_{n}_kubernetes", n, "kubernetes", a) for n, a in KUBERNETES_ENVIRONMENTS.items()]
if os.environ.get("ISOLATION_CONFORMANCE_CELLS"):
    CELLS = [tuple(cell) for cell in json.loads(os.environ["ISOLATION_CONFORMANCE_CELLS"])]
SECRET = "pw-9f8e7d6c5b4a"  # password of the secret_db connection the tests define
STANDARD = "airflow.providers.standard.operators"
STANDARD_SENSORS = "airflow.providers.standard.sensors"
SHORT_CIRCUITS = {  # name: (condition, ignore_downstream_trigger_rules)
    "true_all": (True, True),
    "true_direct": (True, False),
    "false_all": (False, True),
    "false_direct": (False, False),
}
BACKEND_OPTIONS = {
    "kubernetes": {"backend_options": {"namespace": os.environ.get("ISOLATION_TEST_NAMESPACE", "default")}}
}
"""The pods run in the test namespace; their image comes from ``[isolation] image_registry`` and the
environment's push manifest, as a user's do."""


def produce(ds, logical_date, params, dag_run, ti):
    import datetime as dt

    assert isinstance(logical_date, dt.datetime), type(logical_date)
    assert logical_date.tzinfo is not None
    assert ds == "2024-01-02", ds
    assert params["who"] == "world", params
    assert isinstance(dag_run.conf, dict)
    ti.xcom_push(key="extra", value={"n": 1, "t": (1, 2)})
    return {
        "dict": {"a": 1},
        "list": [1, "two", None],
        "when": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
        "none": None,
        "tuple": (1, 2),
        "day": dt.date(2024, 1, 1),
        "logical_date": logical_date,
    }


def consume(ti):
    upstream = ti.xcom_pull(task_ids="produce")
    return {"a_from_upstream": upstream["dict"]["a"], "extra_type": type(upstream["tuple"]).__name__}


def returns_none():
    return None


def greet(x):
    return f"hi {x}"


def choose():
    return "left"


def skip_me():
    from airflow.exceptions import AirflowSkipException

    raise AirflowSkipException("nothing to do today")


def condition_true():
    return True


def condition_false():
    return False


def push_then_fail(ti):
    ti.xcom_push(key="before_failure", value={"n": 1, "t": (1, 2)})
    raise ValueError("failing after an xcom_push, on purpose")


ASSET_EXTRA = {"rows": 7, "nested": {"t": [1, 2]}}


def emit_asset_extra(outlet_events, outlets):
    outlet_events[outlets[0]].extra.update({"rows": 7, "nested": {"t": [1, 2]}})


def read_inlet_extra(inlet_events, inlets):
    return dict(inlet_events[inlets[0]][-1].extra)


def emits_asset_events(env_name):
    """Airflow 2.9 has no ``outlet_events`` (2.10 added them): its tasks emit events without extras."""
    return not env_name.startswith("af29")


def reads_asset_events():
    """An Airflow 2 host's ``airflow dags test`` registers no dataset events (it never writes the
    DAG's datasets to the database; natively as isolated), so only an Airflow 3 host reads them back."""
    return int(HOST_AIRFLOW.split(".")[0]) >= 3


def short_circuit_downstream(gate, prefix, name):
    """gate >> direct >> [after (all_success), all_done, none_failed]: which of these a short
    circuit skips depends on ignore_downstream_trigger_rules, and the same structure runs natively."""
    direct = EmptyOperator(task_id=f"{prefix}sc_{name}_direct")
    (
        gate
        >> direct
        >> [
            EmptyOperator(task_id=f"{prefix}sc_{name}_after"),
            EmptyOperator(task_id=f"{prefix}sc_{name}_all_done", trigger_rule="all_done"),
            EmptyOperator(task_id=f"{prefix}sc_{name}_none_failed", trigger_rule="none_failed"),
        ]
    )


def secret_probe():
    import os
    import sys

    try:
        from airflow.sdk import BaseHook
    except ImportError:
        from airflow.hooks.base import BaseHook
    secret = BaseHook.get_connection("secret_db").password
    with open("/proc/self/environ", "rb") as handle:
        initial_environ = handle.read().decode(errors="replace")
    print(f"the password is {secret}")
    return {
        "has_password": bool(secret) and len(secret) > 8,
        "in_environ": secret in initial_environ or any(secret in v for v in os.environ.values()),
        "in_argv": any(secret in arg for arg in sys.argv),
    }


TRIGGERED = "conformance_triggered"
"""The DAG the conformance DAGs' ``TriggerDagRunOperator`` tasks trigger (an Airflow 3 host only:
on Airflow 2 an isolated task cannot ask the host's task runner for a dag run)."""
TRIGGERS_DAG_RUNS = int(HOST_AIRFLOW.split(".")[0]) >= 3

if TRIGGERS_DAG_RUNS:
    with DAG(TRIGGERED, schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
        EmptyOperator(task_id="triggered")

for dag_id, env_name, backend, has_airflow in CELLS:
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        template_searchpath=[str(Path(__file__).parent / "sql")],
        params={"who": "world", "n": 3},
        default_args={"retries": 0, "backend": backend, **BACKEND_OPTIONS.get(backend, {})},
    ):
        produced = IsolatedOperator(task_id="produce", environment=env_name, python_callable=produce)
        consumed = IsolatedOperator(task_id="consume", environment=env_name, python_callable=consume)
        nothing = IsolatedOperator(task_id="returns_none", environment=env_name, python_callable=returns_none)
        produced >> consumed

        @task.isolated(environment=env_name)
        def add(a, b):
            return a + b

        added = add(2, 3)

        @task
        def native_values():
            """The same nested tuples through the host's XCom without isolation: Airflow 2's XCom
            encoder keeps only top-level tuples, so there an isolated task must give lists too."""
            return {"tuple": (1, 2), "extra": {"n": 1, "t": (1, 2)}}

        @task
        def check_values(values, consumed_values, added_value, native, ti=None):
            assert values["dict"] == {"a": 1}
            assert values["list"] == [1, "two", None]
            assert values["when"] == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), values["when"]
            assert values["none"] is None
            assert list(values["tuple"]) == [1, 2], values["tuple"]
            assert type(values["tuple"]) is type(native["tuple"]), (values["tuple"], native["tuple"])
            assert values["day"] == dt.date(2024, 1, 1)
            assert values["logical_date"] == pendulum.datetime(2024, 1, 2, tz="UTC")
            extra = ti.xcom_pull(task_ids="produce", key="extra")
            assert extra == native["extra"] and type(extra["t"]) is type(native["extra"]["t"]), extra
            assert ti.xcom_pull(task_ids="returns_none") is None
            expected_type = type(native["tuple"]).__name__
            assert consumed_values == {"a_from_upstream": 1, "extra_type": expected_type}, consumed_values
            assert added_value == 5

        check = check_values(produced.output, consumed.output, added, native_values())
        nothing >> check

        @task.isolated(environment=env_name)
        def square(x):
            return x * x

        @task
        def check_mapped(values):
            assert sorted(values) == [1, 4, 9], values

        check_mapped(square.expand(x=[1, 2, 3]))

        failed_after_push = IsolatedOperator(
            task_id="push_then_fail", environment=env_name, python_callable=push_then_fail
        )
        native_failed_after_push = task(task_id="native_push_then_fail")(push_then_fail)()

        @task(trigger_rule="all_done")
        def check_pushed_before_failure(ti=None):
            isolated = ti.xcom_pull(task_ids="push_then_fail", key="before_failure")
            native = ti.xcom_pull(task_ids="native_push_then_fail", key="before_failure")
            assert native is not None and isolated == native, (isolated, native)

        [failed_after_push, native_failed_after_push] >> check_pushed_before_failure()

        if has_airflow:
            bash = IsolatedOperator(
                task_id="bash_template_file",
                environment=env_name,
                operator=f"{STANDARD}.bash.BashOperator",
                bash_command="scripts/hello.sh",
            )
            python_op = IsolatedOperator(
                task_id="python_operator",
                environment=env_name,
                operator=f"{STANDARD}.python.PythonOperator",
                python_callable=greet,
                op_kwargs={"x": "{{ params.who }}"},
            )
            sql = IsolatedOperator(
                task_id="sql_file",
                environment=env_name,
                operator="airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator",
                conn_id="isolation_sqlite",
                sql="query.sql",
            )
            branch = IsolatedOperator(
                task_id="branch",
                environment=env_name,
                operator=f"{STANDARD}.python.BranchPythonOperator",
                python_callable=choose,
            )
            branch >> [EmptyOperator(task_id="left"), EmptyOperator(task_id="right")]
            IsolatedOperator(
                task_id="skipped",
                environment=env_name,
                operator=f"{STANDARD}.python.PythonOperator",
                python_callable=skip_me,
            )
            probe = IsolatedOperator(
                task_id="secret_probe",
                environment=env_name,
                python_callable=secret_probe,
                connections=["secret_db"],
            )

            mapped = IsolatedOperator.partial(
                task_id="mapped_operator",
                environment=env_name,
                operator=f"{STANDARD}.python.PythonOperator",
                python_callable=greet,
            ).expand(op_kwargs=[{"x": "a"}, {"x": "{{ params.who }}"}])

            @task
            def check_mapped_operator(values):
                assert sorted(values) == ["hi a", "hi world"], values

            check_mapped_operator(mapped.output)

            @task
            def check_operators(bash_out, python_out, rows, probe_out):
                assert bash_out == "hello 2024-01-02 world", bash_out
                assert python_out == "hi world", python_out
                assert [list(r) for r in rows] == [["2024-01-02", 6]], rows
                assert probe_out == {"has_password": True, "in_environ": False, "in_argv": False}, probe_out

            check_operators(bash.output, python_op.output, sql.output, probe.output)

            for name, (condition, ignore_rules) in SHORT_CIRCUITS.items():
                callable_ = condition_true if condition else condition_false
                isolated_gate = IsolatedOperator(
                    task_id=f"short_circuit_{name}",
                    environment=env_name,
                    operator=f"{STANDARD}.python.ShortCircuitOperator",
                    python_callable=callable_,
                    ignore_downstream_trigger_rules=ignore_rules,
                )
                short_circuit_downstream(isolated_gate, "", name)
                native_gate = ShortCircuitOperator(
                    task_id=f"native_short_circuit_{name}",
                    python_callable=callable_,
                    ignore_downstream_trigger_rules=ignore_rules,
                )
                short_circuit_downstream(native_gate, "native_", name)

            if emits_asset_events(env_name):
                isolated_asset = Asset(f"s3://isolation-conformance/{dag_id}/isolated")
                native_asset = Asset(f"s3://isolation-conformance/{dag_id}/native")
                emitted = IsolatedOperator(
                    task_id="emit_asset_extra",
                    environment=env_name,
                    python_callable=emit_asset_extra,
                    outlets=[isolated_asset],
                )
                native_emit = task(task_id="native_emit_asset_extra", outlets=[native_asset])
                native_emitted = native_emit(emit_asset_extra)()

            if emits_asset_events(env_name) and reads_asset_events():
                read_back = IsolatedOperator(
                    task_id="read_asset_extra",
                    environment=env_name,
                    python_callable=read_inlet_extra,
                    inlets=[isolated_asset],
                )

                @task(inlets=[isolated_asset, native_asset])
                def check_asset_extras(read_in_target, inlet_events=None):
                    """The host's own Airflow reads both events: the isolated task's has the native extras."""
                    isolated = dict(inlet_events[0][-1].extra)  # the inlets, by index
                    native = dict(inlet_events[1][-1].extra)
                    assert isolated == native == ASSET_EXTRA, (isolated, native)
                    assert read_in_target == ASSET_EXTRA, read_in_target

                emitted >> read_back
                [emitted, native_emitted] >> check_asset_extras(read_back.output)

            hooks = [
                IsolatedOperator(task_id="execute_hooks", environment=env_name, operator=StepsOperator),
                StepsOperator(task_id="native_execute_hooks"),
                IsolatedOperator(
                    task_id="execute_hooks_fail", environment=env_name, operator=StepsOperator, fail=True
                ),
                StepsOperator(task_id="native_execute_hooks_fail", fail=True),
            ]

            @task(trigger_rule="all_done")
            def check_execute_hooks(env_name, ti=None):
                def pulled(task_id, key):
                    return ti.xcom_pull(task_ids=task_id, key=key)

                for suffix in ("", "_fail"):  # pre_execute's XCom stays when execute fails
                    pre = [pulled(f"{who}execute_hooks{suffix}", "pre") for who in ("", "native_")]
                    assert pre == ["pre_execute ran", "pre_execute ran"], pre
                failed = (pulled("execute_hooks_fail", "post"), pulled("native_execute_hooks_fail", "post"))
                assert failed == (None, None), f"post_execute ran after a failed execute: {failed}"
                isolated, native = pulled("execute_hooks", "post"), pulled("native_execute_hooks", "post")
                steps = ["pre_execute", "execute", "post_execute"]
                assert isolated["steps"] == native["steps"] == steps, (isolated, native)

                def given(major):  # what post_execute gets as its result, by Airflow version
                    return RETURNED if major == 2 else None

                assert native["result"] == given(int(HOST_AIRFLOW.split(".")[0])), native
                assert isolated["result"] == given(2 if env_name.startswith("af2") else 3), isolated

            hooks >> check_execute_hooks(env_name)

            if TRIGGERS_DAG_RUNS:
                triggers = [
                    IsolatedOperator(
                        task_id="trigger_dag_run",
                        environment=env_name,
                        operator=TriggerDagRunOperator,
                        trigger_dag_id=TRIGGERED,
                        trigger_run_id="isolated_{{ run_id }}",
                        conf={"by": "{{ task.task_id }}", "n": "{{ params.n }}"},
                    ),
                    TriggerDagRunOperator(
                        task_id="native_trigger_dag_run",
                        trigger_dag_id=TRIGGERED,
                        trigger_run_id="native_{{ run_id }}",
                        conf={"by": "{{ task.task_id }}", "n": "{{ params.n }}"},
                    ),
                ]

                @task
                def check_trigger_dag_run(ti=None, run_id=None):
                    """The host's task runner pushed each triggered run's id, as natively."""
                    names = ("trigger_dag_run", "native_trigger_dag_run")
                    pulled = [ti.xcom_pull(task_ids=name, key="trigger_run_id") for name in names]
                    assert pulled == [f"isolated_{run_id}", f"native_{run_id}"], pulled

                triggers >> check_trigger_dag_run()

            IsolatedOperator(
                task_id="deferred_sensor",
                environment=env_name,
                operator=f"{STANDARD_SENSORS}.date_time.DateTimeSensorAsync",
                target_time="{{ (macros.datetime.utcnow() + macros.timedelta(seconds=5)).isoformat() }}",
            )
