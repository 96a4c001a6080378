"""``python -m airflow_isolation.runtime --request FILE --result FILE [--result-format json]``.

The result is msgpack by default; ``--result-format json`` writes msgspec-JSON instead, for the
Kubernetes backend, whose result travels through the KubernetesPodOperator's xcom sidecar, which
only carries JSON (``/airflow/xcom/return.json``).

Order matters: secrets are redacted from stdout/stderr and Airflow is configured *before* Airflow
is imported; the result is written atomically in every case the process survives, so the host can
tell a task failure (a result with an error) from a crash (no result).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type

from airflow_isolation.core import (
    CallableSpec,
    IsolationRequest,
    IsolationResult,
    RequestDecodeError,
    RequestIntegrityError,
    SchemaVersionError,
    Timings,
    ValueEncodeError,
    decode_request,
    encode,
    encode_json,
    launch,
)
from airflow_isolation.core.integrity import verify_request
from airflow_isolation.runtime.__about__ import __version__
from airflow_isolation.runtime.facets.assets import AssetsFacet
from airflow_isolation.runtime.facets.base import RequestRefused, TargetFacet
from airflow_isolation.runtime.facets.branch import BranchFacet
from airflow_isolation.runtime.facets.dag_run_trigger import DagRunTriggerFacet
from airflow_isolation.runtime.facets.downstream_skips import DownstreamSkipsFacet
from airflow_isolation.runtime.facets.host_channel import HostChannelFacet
from airflow_isolation.runtime.facets.openlineage import OpenLineageFacet
from airflow_isolation.runtime.facets.resumption import ResumptionFacet
from airflow_isolation.runtime.facets.sensors import SensorsFacet
from airflow_isolation.runtime.facets.shipped_modules import ShippedModulesFacet
from airflow_isolation.runtime.facets.write_back import WriteBackFacet
from airflow_isolation.runtime.facets.xcom import XComFacet
from airflow_isolation.runtime.process import lifeline, masking, sigterm
from airflow_isolation.runtime.process.request_file import read_request
from airflow_isolation.runtime.task import airflow_compat, outcome, runner
from airflow_isolation.runtime.task.context import build_context
from airflow_isolation.runtime.task.outcome import Outcome
from airflow_isolation.runtime.task.run import TaskRun

FACETS: Tuple[Type[TargetFacet], ...] = (
    XComFacet,
    BranchFacet,
    WriteBackFacet,
    DownstreamSkipsFacet,
    SensorsFacet,
    ShippedModulesFacet,
    OpenLineageFacet,
    AssetsFacet,
    ResumptionFacet,
    DagRunTriggerFacet,
    HostChannelFacet,
)
"""The target half of every facet of ``core.facets``, in its order: the order of their hooks."""


def _parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {launch.RUNTIME_MODULE}",
        description="Run one isolated Airflow task from a request file and write its result.",
    )
    parser.add_argument(
        launch.REQUEST_OPTION, required=True, help=f"request file, or {launch.STDIN} for stdin"
    )
    parser.add_argument(launch.RESULT_OPTION, required=True, help="where to write the result")
    parser.add_argument(
        launch.RESULT_FORMAT_OPTION,
        choices=launch.RESULT_FORMATS,
        default=launch.DEFAULT_RESULT_FORMAT,
        help="msgpack (default), or json for the KubernetesPodOperator xcom sidecar",
    )
    parser.add_argument("--version", action="version", version=f"airflow-isolation-runtime {__version__}")
    return parser.parse_args(argv)


def write_result(
    path: str, result: IsolationResult, result_format: str = launch.DEFAULT_RESULT_FORMAT
) -> IsolationResult:
    """Write atomically (the host must never read half a result); return what was written.

    A return value or XCom that cannot be encoded turns the result into a failure naming it.
    """
    encoder = encode_json if result_format == "json" else encode
    try:
        data = encoder(result)
    except ValueEncodeError as exc:
        _log(f"task failed: {exc}")
        result = outcome.result(
            "failed",
            result.timings,
            error=outcome.error_info(exc),
            airflow_version=result.target_airflow_version,
        )
        data = encoder(result)
    fd = launch.descriptor_of(path)
    if fd is not None:  # a warm child's result file: the host reads it only once the child has ended
        os.ftruncate(fd, 0)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return result
    target = Path(path)
    tmp = target.parent / f".result-{os.getpid()}-{time.monotonic_ns()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # what mkstemp does, sans tempfile
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, target)
    return result


def _log(message: str) -> None:
    print(f"[airflow-isolation] {message}", file=sys.stderr, flush=True)


def _needs_airflow(request: IsolationRequest) -> bool:
    """Whether this run must import Airflow (which costs seconds).

    Operators always do. A callable shipped as source only does when it mentions Airflow (to call
    ``get_current_context`` or a hook), when connections or variables must be served, or when a
    facet needs it (a task with outlets: its ``outlet_events`` are the target Airflow's own accessors).
    """
    task = request.task
    if not isinstance(task, CallableSpec) or request.connections or request.variables:
        return True
    if any(facet.needs_airflow(request) for facet in FACETS):
        return True
    return task.source is None or "airflow" in task.source


def run(request: IsolationRequest, started: float, decoded: float) -> IsolationResult:
    task_run = TaskRun(request, _log)
    facets = [facet(task_run) for facet in FACETS]
    with contextlib.ExitStack() as scopes:
        for facet in facets:
            scopes.enter_context(facet.scope())
        return _run(task_run, facets, started, decoded)


def _run(task_run: TaskRun, facets: List[TargetFacet], started: float, decoded: float) -> IsolationResult:
    request = task_run.request
    installed = airflow_compat.detect()
    info = installed if installed is not None and _needs_airflow(request) else None
    task_run.airflow = info
    airflow_version = installed.version if installed else None
    secrets: List[str] = masking.secrets_worth_masking(
        [*request.secrets_to_mask, *(c.password for c in request.connections if c.password)]
    )
    masking.install(secrets)
    task = request.task
    what = task.class_path if not isinstance(task, CallableSpec) else f"callable {task.name}"
    _log(
        f"runtime {__version__} | Python {sys.version.split()[0]} | "
        f"Airflow {airflow_version or 'not installed'} | {what}"
    )
    setup_done = started
    try:
        if installed is not None:
            airflow_compat.configure_environment()
        if info is not None:
            for facet in facets:
                facet.before_airflow()
            airflow_compat.install_secrets(info, request.connections, request.variables)
            airflow_compat.register_secrets(info, secrets)
        elif not isinstance(task, CallableSpec):
            raise ImportError(
                f"{task.class_path} needs Airflow, which is not installed in this environment: add "
                "apache-airflow (and the provider of the operator) to its requirements and rebuild it"
            )
        if not isinstance(task, CallableSpec):
            task_run.operator = runner.build_operator(task, request.context.task_id)
        context = build_context(request.context, task_run.xcoms, request.variables, task_run.operator)
        task_run.context = context
        for facet in facets:
            facet.install()
        setup_done = time.perf_counter()
        with airflow_compat.current_context(info, context), sigterm.on_sigterm(task_run.operator, _log):
            if isinstance(task, CallableSpec):
                value = runner.run_callable(task, context, info)
            else:
                assert info is not None
                value = runner.run_operator(info, task_run.operator, context, _log, task_run.resume_with)
    except (Exception, SystemExit) as exc:  # every outcome of the task must become a result
        raised = _raised(facets, exc)
        ended = Outcome("success", "success") if raised is None else _failed(facets, raised)
    except BaseException as exc:  # TaskDeferred is one; an operator's deferrals are run in deferral
        if not outcome.is_a(exc, "TaskDeferred"):
            raise
        refused = RuntimeError(
            "only an operator can defer (TaskDeferred): run it as IsolatedOperator(operator=...), whose "
            "triggers run in the target"
        )
        ended = _failed(facets, refused)
    else:
        ended = Outcome("success", "success", value)
    return _result(facets, ended, _timings(started, decoded, setup_done), airflow_version)


def _raised(facets: List[TargetFacet], exc: BaseException) -> Optional[BaseException]:
    """What the task's exception stands for once every facet has seen it (``TargetFacet.ended``)."""
    current: Optional[BaseException] = exc
    for facet in facets:
        current = facet.ended(current) if current is not None else None
    return current


def _failed(facets: List[TargetFacet], exc: BaseException) -> Outcome:
    """A skipped, rescheduled or failed task."""
    status = "skipped" if outcome.is_skip(exc) else "failed"
    states = [state for state in (facet.native_state(exc) for facet in facets) if state]
    return Outcome(status, states[0] if states else status, exception=exc)


def _result(
    facets: List[TargetFacet], ended: Outcome, timings: Timings, airflow_version: Optional[str]
) -> IsolationResult:
    exc = ended.exception
    if exc is not None and ended.state == "failed":
        _log(f"task failed: {type(exc).__name__}: {exc}")
    fields: Dict[str, Any] = {}
    for facet in facets:
        fields.update(facet.collect(ended))
    error = outcome.error_info(exc) if exc is not None else None
    return outcome.result(
        ended.status,
        timings,
        return_value=ended.return_value,
        error=error,
        airflow_version=airflow_version,
        **fields,
    )


def _timings(started: float, decoded: float, setup_done: float) -> Timings:
    now = time.perf_counter()
    return Timings(
        decode=decoded - started,
        setup=max(setup_done - decoded, 0.0),
        execute=now - max(setup_done, decoded),
        total=now - started,
    )


def _verified(data: bytes, where: str) -> bytes:
    """Check the bytes against the digest the host sent; hosts before schema 1.1 send none."""
    variable = launch.REQUEST_DIGEST_ENV
    expected = os.environ.get(variable)
    if expected is None:
        _log(f"the request is not integrity-checked: the host operator did not set {variable}")
        return data
    verify_request(data, expected, where)
    return data


def main(argv: Optional[Sequence[str]] = None) -> int:
    started = time.perf_counter()
    lifeline.arm_from_environment()
    args = _parse_args(argv)
    return run_files(args.request, args.result, args.result_format, started)


def run_files(
    request_path: str,
    result_path: str,
    result_format: str = launch.DEFAULT_RESULT_FORMAT,
    started: Optional[float] = None,
) -> int:
    """``main`` once its arguments are known: a warm child, which has them as values, calls it
    directly (building an ``argparse`` parser costs milliseconds: its texts go through ``gettext``)."""
    started = time.perf_counter() if started is None else started
    try:
        request = decode_request(_verified(read_request(request_path), request_path))
        for facet in FACETS:
            facet.check(request)
    except (OSError, RequestDecodeError, RequestIntegrityError, SchemaVersionError, RequestRefused) as exc:
        _log(f"cannot read the request {request_path}: {exc}")
        write_result(
            result_path,
            outcome.result("failed", Timings(), error=outcome.error_info(exc)),
            result_format,
        )
        return launch.EXIT_BAD_REQUEST
    result = write_result(result_path, run(request, started, time.perf_counter()), result_format)
    sys.stdout.flush()
    sys.stderr.flush()
    if result.status == "success":
        return launch.EXIT_SUCCESS
    if result.status == "skipped":
        return request.options.skip_exit_code
    return launch.EXIT_FAILED
