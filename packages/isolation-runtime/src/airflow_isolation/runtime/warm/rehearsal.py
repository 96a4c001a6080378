"""One throwaway task run in the warm runtime before it serves, so children inherit a primed process.

Importing modules is not all a first task pays: Airflow 2.10 imports ``airflow.decorators`` the first
time an operator executes (~70 ms), msgspec builds its decoders' type information on first use, the
log formatter its colour tables, and so on. Each forked child would pay all of it again; a
rehearsal in the parent pays it once. The rehearsal is a fixed request built here (a trivial callable,
wrapped in ``PythonOperator`` when the environment has Airflow): no connection, variable or secret,
nothing from any host, and its result is discarded. What it leaves in the process (patched Variable
writes, the request-fed secrets backend, an Airflow masker without secrets) every task installs
afresh for itself, exactly as a cold runtime does.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

from airflow_isolation.core import (
    SCHEMA_VERSION,
    CallableSpec,
    IsolationRequest,
    OperatorSpec,
    TaskContext,
    decode_request,
    encode,
)

_SOURCE = "def warm_rehearsal(x):\n    return x + 1\n"


def rehearsal_request(operator_class_path: Optional[str]) -> IsolationRequest:
    function = CallableSpec(name="warm_rehearsal", source=_SOURCE)
    context = TaskContext(dag_id="warm_runtime", task_id="warm_rehearsal", run_id="warm_rehearsal")
    if operator_class_path is None:
        task = CallableSpec(name=function.name, source=function.source, kwargs={"x": 1})
        return IsolationRequest(schema=SCHEMA_VERSION, task=task, context=context)
    operator = OperatorSpec(
        class_path=operator_class_path, kwargs={"python_callable": function, "op_kwargs": {"x": 1}}
    )
    return IsolationRequest(schema=SCHEMA_VERSION, task=operator, context=context)


def rehearse(operator_class_path: Optional[str], log: Callable[[str], None]) -> None:
    """Run the rehearsal request as a child would; report, never raise."""
    started = time.perf_counter()
    try:
        from airflow_isolation.runtime.entrypoint import run

        request = decode_request(encode(rehearsal_request(operator_class_path)))
        result = run(request, started, time.perf_counter())
        encode(result)
    except BaseException as exc:
        log(f"the rehearsal task failed ({type(exc).__name__}: {exc}); tasks start less primed")
        return
    outcome = "" if result.status == "success" else f" ({result.status}: {result.error})"
    log(f"rehearsal task ran in {time.perf_counter() - started:.2f} s{outcome}")
