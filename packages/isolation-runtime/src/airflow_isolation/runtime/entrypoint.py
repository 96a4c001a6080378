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
import os
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

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
from airflow_isolation.runtime.facets import assets, sensors, shipped_modules, write_back
from airflow_isolation.runtime.facets import downstream_skips as skips
from airflow_isolation.runtime.facets import openlineage as lineage
from airflow_isolation.runtime.process import masking, sigterm
from airflow_isolation.runtime.process.request_file import read_request
from airflow_isolation.runtime.task import airflow_compat, outcome, runner
from airflow_isolation.runtime.task.context import build_context
from airflow_isolation.runtime.task.task_instance import XComRecorder


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
    ``get_current_context`` or a hook), when connections or variables must be served, or when the
    task has outlets (its ``outlet_events`` are the target Airflow's own accessors).
    """
    task = request.task
    if not isinstance(task, CallableSpec) or request.connections or request.variables:
        return True
    if request.context.outlets:
        return True
    return task.source is None or "airflow" in task.source


def run(request: IsolationRequest, started: float, decoded: float) -> IsolationResult:
    installed = airflow_compat.detect()
    info = installed if installed is not None and _needs_airflow(request) else None
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
    recorder = XComRecorder(allowed=request.options.xcom_write_back)
    variable_writes = write_back.VariableWrites(request.options, request.variables)
    branch = runner.BranchRecorder()
    skipped = skips.SkipRecorder()
    setup_done = started
    ending = lineage.TaskEnd(request.options.openlineage, _log)
    try:
        if installed is not None:
            airflow_compat.configure_environment()
        if info is not None:
            write_back.install(variable_writes)
            airflow_compat.install_secrets(info, request.connections, request.variables)
            masking.register_with_airflow(secrets, info.major)
        elif not isinstance(task, CallableSpec):
            raise ImportError(
                f"{task.class_path} needs Airflow, which is not installed in this environment: add "
                "apache-airflow (and the provider of the operator) to its requirements and rebuild it"
            )
        operator = (
            None
            if isinstance(task, CallableSpec)
            else runner.build_operator(task, request.context.task_id, branch)
        )
        if operator is not None:
            assert info is not None
            runner.show_host_dag(info, operator, request.context, branch, skipped)
        context = build_context(request.context, recorder, request.variables, operator)
        ending.operator, ending.task_instance = operator, context["ti"]
        context.update(assets.context_entries(info, request.context))
        setup_done = time.perf_counter()
        with airflow_compat.current_context(info, context), sigterm.on_sigterm(operator, _log):
            if isinstance(task, CallableSpec):
                value = runner.run_callable(task, context, info)
            else:
                assert info is not None
                value = runner.run_operator(info, operator, context, _log)
    except (Exception, SystemExit) as exc:  # every outcome of the task must become a result
        skipped_downstream = skips.skipped_by(exc)
        if skipped_downstream is not None:  # Airflow 3: the task succeeded and skips these
            skipped.add(skipped_downstream)
            value = None
        else:
            explained = shipped_modules.explained(exc, request.modules)
            timings = _timings(started, decoded, setup_done)
            return _failure(explained, timings, recorder, airflow_version, ending)
    except BaseException as exc:  # TaskDeferred is one; an operator's deferrals are run in deferral
        if not outcome.is_a(exc, "TaskDeferred"):
            raise
        refused = RuntimeError(
            "only an operator can defer (TaskDeferred): run it as IsolatedOperator(operator=...), whose "
            "triggers run in the target"
        )
        return _failure(refused, _timings(started, decoded, setup_done), recorder, airflow_version)
    return outcome.result(
        "success",
        _timings(started, decoded, setup_done),
        return_value=value,
        pushes=recorder.pushes,
        branch=branch.branch,
        airflow_version=airflow_version,
        variable_writes=variable_writes.writes,
        skip_downstream=skipped.result(),
        openlineage=ending.lineage("success"),
        outlet_events=assets.recorded(info, context),
    )


def _failure(
    exc: BaseException,
    timings: Timings,
    recorder: XComRecorder,
    airflow_version: Optional[str],
    ending: Optional[lineage.TaskEnd] = None,
) -> IsolationResult:
    """A skipped, rescheduled or failed task; XComs it pushed are kept, as natively."""
    reschedule_date = sensors.reschedule_date(exc)
    status = "skipped" if outcome.is_skip(exc) else "failed"
    if reschedule_date is not None:
        _log(f"sensor rescheduled to {reschedule_date.isoformat()}")
    elif status == "failed":
        _log(f"task failed: {type(exc).__name__}: {exc}")
    return outcome.result(
        status,
        timings,
        pushes=recorder.pushes,
        error=outcome.error_info(exc),
        airflow_version=airflow_version,
        reschedule_date=reschedule_date,
        openlineage=ending.lineage("up_for_reschedule" if reschedule_date else status) if ending else None,
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
        shipped_modules.check_paths(request.modules)
    except (
        OSError,
        RequestDecodeError,
        RequestIntegrityError,
        SchemaVersionError,
        shipped_modules.ShippedModuleError,
    ) as exc:
        _log(f"cannot read the request {request_path}: {exc}")
        write_result(
            result_path,
            outcome.result("failed", Timings(), error=outcome.error_info(exc)),
            result_format,
        )
        return launch.EXIT_BAD_REQUEST
    with shipped_modules.installed(request.modules):
        result = run(request, started, time.perf_counter())
    result = write_result(result_path, result, result_format)
    sys.stdout.flush()
    sys.stderr.flush()
    if result.status == "success":
        return launch.EXIT_SUCCESS
    if result.status == "skipped":
        return request.options.skip_exit_code
    return launch.EXIT_FAILED
