"""``IsolatedOperator`` itself, with a fake backend: its parse-time errors, what ``execute`` sends
and applies, the older-runtime refusals, deferral and ``on_kill``."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
from manifest_support import write_venv_manifest
from operator_docker_support import task_context

from airflow_isolation.core import (
    SCHEMA_VERSION,
    IsolationRequest,
    IsolationResult,
    SchemaVersion,
    XComPush,
    decode_request,
    encode,
)
from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator import operator as operator_module
from airflow_isolation.operator.backends.base import BackendJob, IsolationBackend, LogSink, TargetExit
from airflow_isolation.operator.exchange.result_handler import IsolatedTargetCrashed
from airflow_isolation.operator.exchange.runtime_schema import OlderRuntimeError
from airflow_isolation.operator.operator import IsolatedOperator
from airflow_isolation.operator.parse.arguments import split_base_kwargs
from airflow_isolation.workspace import environment as env_contract

SHORT_CIRCUIT = "airflow.providers.standard.operators.python.ShortCircuitOperator"
START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def returns_nothing() -> None:
    return None


def is_false() -> bool:
    return False


class FakeBackend(IsolationBackend):
    """Records the request and answers with ``result`` (or raises ``raises``)."""

    name = "venv"

    def __init__(self, result: Optional[IsolationResult] = None, raises: Optional[BaseException] = None):
        self.result = result if result is not None else IsolationResult(SCHEMA_VERSION, "success")
        self.raises = raises
        self.requests: List[IsolationRequest] = []
        self.jobs: List[BackendJob] = []
        self.resumed: List[Any] = []
        self.killed = 0
        self.during_run: Callable[[], None] = lambda: None

    def _outcome(self) -> TargetExit:
        return TargetExit(encode(self.result), 0, [], "fake")

    def run(self, request: bytes, job: BackendJob, log: LogSink) -> TargetExit:
        self.requests.append(decode_request(request))
        self.jobs.append(job)
        log("a line from the target")
        self.during_run()
        if self.raises is not None:
            raise self.raises
        return self._outcome()

    def resume(self, method: str, event: Any, job: BackendJob, log: LogSink) -> TargetExit:
        self.resumed.append((method, event, job.identity))
        return self._outcome()

    def kill(self) -> None:
        self.killed += 1


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> FakeBackend:
    fake = FakeBackend()
    monkeypatch.setattr(operator_module, "get_backend", lambda name: fake)
    return fake


@pytest.fixture
def builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(env_contract.BUILD_PATH_VAR, str(tmp_path))
    return tmp_path


def _callable(**kwargs: Any) -> IsolatedOperator:
    return IsolatedOperator(task_id="t", environment="plain", python_callable=returns_nothing, **kwargs)


def _short_circuit_dag() -> IsolatedOperator:
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    with DAG("gate", schedule=None, start_date=START):
        gate = IsolatedOperator(
            task_id="gate", environment="plain", operator=SHORT_CIRCUIT, python_callable=is_false
        )
        gate >> EmptyOperator(task_id="after")
    return gate


def _context(op: IsolatedOperator) -> Dict[str, Any]:
    return {**task_context(op.dag_id if op.has_dag() else "d", op.task_id), "task": op}


def test_base_operator_kwargs_stay_on_the_host() -> None:
    base, inner = split_base_kwargs(
        {"task_id": "t", "retries": 2, "pool": "p", "bash_command": "ls", "env": {}}
    )
    assert base == {"task_id": "t", "retries": 2, "pool": "p"}
    assert inner == {"bash_command": "ls", "env": {}}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"environment": 3, "python_callable": returns_nothing}, "environment must be a name"),
        ({"environment": "plain"}, "pass operator=<class or dotted path>"),
        (
            {"environment": "plain", "python_callable": returns_nothing, "bash_command": "ls"},
            "unexpected keyword",
        ),
        (
            {"environment": "plain", "python_callable": returns_nothing, "connections": "db"},
            r"connections=\['db'\]",
        ),
        (
            {"environment": "plain", "python_callable": returns_nothing, "variables": [""]},
            "non-empty strings",
        ),
        (
            {"environment": "plain", "python_callable": returns_nothing, "op_kwargs": [1]},
            "op_kwargs must be a dict",
        ),
        (
            {"environment": "plain", "python_callable": returns_nothing, "op_args": "x"},
            "op_args must be a list",
        ),
        (
            {"environment": "plain", "python_callable": returns_nothing, "write_back": "xcom"},
            "write_back must be",
        ),
        ({"environment": "plain", "operator": "nodots"}, "dotted path"),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_parsed(kwargs: Dict[str, Any], error: str) -> None:
    with pytest.raises((TypeError, ValueError, airflow_compat.AirflowException), match=error):
        IsolatedOperator(task_id="t", **kwargs)


def test_an_undefined_environment_fails_when_the_dag_is_parsed() -> None:
    with pytest.raises(env_contract.IsolationEnvironmentError):
        IsolatedOperator(task_id="t", environment="no-such-env", python_callable=returns_nothing)


def test_a_wrapped_operators_arguments_are_split_by_template_fields() -> None:
    op = IsolatedOperator(
        task_id="t",
        environment="plain",
        operator="airflow.providers.standard.operators.bash.BashOperator",
        bash_command="echo {{ ds }}",
        skip_on_exit_code=42,
        retries=3,
    )
    assert op.retries == 3, "BaseOperator's arguments stay on the wrapper"
    assert op.templated_kwargs == {"bash_command": "echo {{ ds }}"}
    assert op.static_kwargs == {"skip_on_exit_code": 42}
    assert op.reschedule is None, "no sensor"


def test_execute_sends_the_request_and_applies_the_result(backend: FakeBackend) -> None:
    backend.result = IsolationResult(
        SCHEMA_VERSION, "success", return_value=5, xcom_pushes=[XComPush("k", 1)]
    )
    op = _callable(op_kwargs={"n": 1}, write_back=["xcom", "variables"])
    context = _context(op)
    assert op.execute(context) == 5
    assert context["ti"].pushed == {"k": 1}
    (request,) = backend.requests
    assert request.task.kwargs == {"n": 1}
    assert request.options.variable_write_back is True
    assert backend.jobs[0].environment == "plain" and backend.jobs[0].identity.task_id == "t"
    assert op._backend is None, "the backend is let go after the run"


def test_execute_ships_a_short_circuits_downstream(backend: FakeBackend) -> None:
    from airflow.sdk.exceptions import DownstreamTasksSkipped

    gate = _short_circuit_dag()
    backend.result = IsolationResult(SCHEMA_VERSION, "success", skip_downstream=["after"])
    with pytest.raises(DownstreamTasksSkipped) as info:
        gate.execute(_context(gate))
    assert backend.requests[0].context.downstream_task_ids == ["after"]
    assert info.value.tasks == ["after"]


def test_target_lines_are_redacted(backend: FakeBackend, caplog: pytest.LogCaptureFixture) -> None:
    airflow_compat.mask_secret("hunter2-secret")
    op = _callable()
    op._log_target_line("password is hunter2-secret")
    assert "hunter2-secret" not in caplog.text


def test_a_crash_without_result_fails_the_task(backend: FakeBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "_outcome", lambda: TargetExit(None, -9, ["bye"], "fake"))
    monkeypatch.setattr(backend, "run", lambda request, job, log: backend._outcome())
    with pytest.raises(IsolatedTargetCrashed, match="SIGKILL"):
        _callable().execute(_context(_callable()))


def test_on_kill_stops_the_running_backend_only(backend: FakeBackend) -> None:
    op = _callable()
    op.on_kill()
    assert backend.killed == 0, "nothing runs"
    backend.during_run = op.on_kill
    op.execute(_context(op))
    assert backend.killed == 1


def test_on_kill_from_another_thread_reaches_the_backend(backend: FakeBackend) -> None:
    op = _callable()
    running, finish = threading.Event(), threading.Event()

    def wait() -> None:
        running.set()
        finish.wait(10)

    backend.during_run = wait
    worker = threading.Thread(target=op.execute, args=(_context(op),))
    worker.start()
    running.wait(10)
    op.on_kill()
    finish.set()
    worker.join(10)
    assert backend.killed == 1


def test_a_deferred_backend_resumes_through_the_operator(backend: FakeBackend) -> None:
    gate = _short_circuit_dag()
    deferred = airflow_compat.TaskDeferred(
        trigger=object(), method_name="trigger_reentry", kwargs={"pod": "p"}
    )
    backend.raises = deferred
    with pytest.raises(airflow_compat.TaskDeferred) as info:
        gate.execute(_context(gate))
    assert info.value.method_name == "resume_isolated"
    kwargs = info.value.kwargs
    assert kwargs["pod"] == "p" and kwargs["backend_method"] == "trigger_reentry"
    assert "downstream_skips" in kwargs["needed_facets"]
    backend.result = IsolationResult(SCHEMA_VERSION, "success", return_value=True)
    assert gate.resume_isolated(_context(gate), event={"status": "done"}, **kwargs) is True
    assert backend.resumed[0][:2] == ("trigger_reentry", {"status": "done"})


def test_a_resumed_result_of_an_older_runtime_fails(backend: FakeBackend) -> None:
    gate = _short_circuit_dag()
    backend.result = IsolationResult(SchemaVersion(1, 1), "success", return_value=False)
    with pytest.raises(OlderRuntimeError, match="downstream_skips"):
        gate.resume_isolated(_context(gate), event={}, backend_method="m", needed_facets=["downstream_skips"])


def test_a_short_circuit_on_an_older_runtime_fails_before_it_runs(backend: FakeBackend, builds: Path) -> None:
    write_venv_manifest(builds, "plain", "1.1")
    gate = _short_circuit_dag()
    with pytest.raises(OlderRuntimeError) as info:
        gate.execute(_context(gate))
    assert backend.requests == [], "the task did not run"
    message = str(info.value)
    assert "'plain'" in message and "1.1" in message and str(SCHEMA_VERSION) in message
    assert "downstream_skips" in message and "`isolationctl env build plain`" in message


def test_a_plain_task_runs_on_an_older_runtime(backend: FakeBackend, builds: Path) -> None:
    write_venv_manifest(builds, "plain", "1.1")
    backend.result = IsolationResult(SchemaVersion(1, 1), "success", return_value=4)
    op = _callable()
    assert op.execute(_context(op)) == 4


def test_an_older_result_does_not_let_the_downstream_run(backend: FakeBackend) -> None:
    """No manifest says (a build older than ``runtime_schema``): the result's header decides, and a
    short circuit whose skips were dropped fails instead of succeeding with its downstream to run."""
    gate = _short_circuit_dag()
    backend.result = IsolationResult(SchemaVersion(1, 1), "success", return_value=False)
    with pytest.raises(OlderRuntimeError, match="the result was not applied"):
        gate.execute(_context(gate))
    assert len(backend.requests) == 1, "it ran"


TRIGGER = "airflow.providers.standard.operators.trigger_dagrun.TriggerDagRunOperator"


def test_a_resumption_with_a_wrapped_method_runs_it_in_the_target(backend: FakeBackend) -> None:
    """The host's task runner resumes a deferral it made on the wrapped operator's behalf with that
    operator's method: it is sent to the target, then forgotten (a retry starts with execute)."""
    from airflow.sdk.exceptions import DagRunTriggerException

    from airflow_isolation.core import DagRunTrigger

    op = IsolatedOperator(
        task_id="t",
        environment="plain",
        operator=TRIGGER,
        trigger_dag_id="downstream",
        wait_for_completion=True,
    )
    context = _context(op)
    event = (
        "airflow.providers.standard.triggers.external_task.DagStateTrigger",
        {"run_ids": ["r"], "r": "success"},
    )
    assert op.resume_execution("execute_complete", {"event": event}, context) is None
    (resumed,) = backend.requests
    assert resumed.resumption is not None
    assert (resumed.resumption.method, resumed.resumption.kwargs) == ("execute_complete", {"event": event})
    assert op._resume_wrapped is None
    backend.result = IsolationResult(
        SCHEMA_VERSION, "success", dag_run_trigger=DagRunTrigger("downstream", "r")
    )
    with pytest.raises(DagRunTriggerException):
        op.execute(context)
    assert backend.requests[-1].resumption is None


def test_the_operators_own_resumptions_stay_its_own(backend: FakeBackend) -> None:
    from airflow.sdk.exceptions import TaskDeferralError

    op = IsolatedOperator(task_id="t", environment="plain", operator=TRIGGER, trigger_dag_id="downstream")
    with pytest.raises(TaskDeferralError):
        op.resume_execution("__fail__", {"error": "Trigger failure"}, _context(op))
    op.resume_execution("resume_isolated", {"event": None, "backend_method": "m"}, _context(op))
    assert backend.requests == [] and [m for m, _, _ in backend.resumed] == ["m"]
    with pytest.raises(AttributeError):
        _callable().resume_execution("execute_complete", {}, _context(_callable()))
