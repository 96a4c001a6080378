"""Running the shipped task: an Airflow operator, or a plain callable.

What the operator would read from its DAG and the database (its downstream tasks, a branch's skips,
a sensor's first poke) the facets install on it before it runs (``facets/``).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, Optional, Tuple

from airflow_isolation.core import CallableSpec, OperatorSpec
from airflow_isolation.runtime.task import airflow_compat, deferral
from airflow_isolation.runtime.task.callables import load_callable


def load_shipped_callables(value: Any) -> Any:
    """Replace every ``CallableSpec`` nested in operator kwargs by the function it describes."""
    if isinstance(value, CallableSpec):
        return load_callable(value)
    if isinstance(value, dict):
        return {k: load_shipped_callables(v) for k, v in value.items()}
    if isinstance(value, list):
        return [load_shipped_callables(v) for v in value]
    return value


def build_operator(spec: OperatorSpec, task_id: str) -> Any:
    cls = airflow_compat.import_class(spec.class_path)
    kwargs: Dict[str, Any] = load_shipped_callables(spec.kwargs)
    kwargs["task_id"] = task_id
    return cls(**kwargs).prepare_for_execution()  # the instance that runs, and gets on_kill


def run_operator(
    info: airflow_compat.AirflowInfo,
    operator: Any,
    context: Dict[str, Any],
    log: Callable[[str], None],
    resume_with: Optional[Tuple[str, Dict[str, Any]]] = None,
) -> Any:
    value = deferral.run_operator(info, operator, context, log, resume_with)
    return value if getattr(operator, "do_xcom_push", True) else None


def call_kwargs(func: Any, spec: CallableSpec, context: Dict[str, Any]) -> Dict[str, Any]:
    """Fill parameters named like context keys, as TaskFlow does for ``@task`` functions."""
    kwargs = dict(spec.kwargs)
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return kwargs
    positional = len(spec.args)
    for index, (name, param) in enumerate(signature.parameters.items()):
        if index < positional or name in kwargs:
            continue
        if param.kind == param.VAR_KEYWORD:
            kwargs.update({k: v for k, v in context.items() if k not in kwargs})
            break
        if name in context and param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            kwargs[name] = context[name]
    return kwargs


def run_callable(
    spec: CallableSpec, context: Dict[str, Any], info: Optional[airflow_compat.AirflowInfo] = None
) -> Any:
    """A generator function runs as under ``@task``: what it yields (``Metadata``) goes into the
    context's ``outlet_events``, what it returns is the return value."""
    func = load_callable(spec)
    kwargs = call_kwargs(func, spec, context)
    if info is not None and "outlet_events" in context and inspect.isgeneratorfunction(func):
        return airflow_compat.call_generator(info, func, context["outlet_events"], *spec.args, **kwargs)
    return func(*spec.args, **kwargs)
