"""``pre_execute`` and ``post_execute`` of the wrapped operator, as the target's Airflow runs them.

Natively the task runner calls them around ``execute`` (and ``pre_execute`` again before each
resumption after a deferral), so an operator that pushes an XCom or prepares a client in
``pre_execute``, or records a step in ``post_execute``, needs them run in the target, beside its
``execute``. The versions differ, and the target's own is followed:

* Airflow 3 (``task_runner._execute_task``): the ``pre_execute=`` hook, then an overriding
  ``pre_execute(context)``; after ``execute``, the ``post_execute=`` hook with ``(context, result)``,
  then an overriding ``post_execute(context)``, *without* the result. Generators among them feed
  the context's ``outlet_events``, as ``create_executable_runner`` makes them.
* Airflow 2 (``TaskInstance._execute_task_with_callbacks``): ``task.pre_execute(context=context)``
  and ``task.post_execute(context=context, result=result)``, whose base versions run the hooks.
  The base versions are left out where there is no hook and no override: their lineage decorators
  open a metadata database session the target does not have, and would add nothing but the
  ``pipeline_inlets``/``pipeline_outlets`` XComs, which an isolated task has never pushed.

``on_execute_callback`` stays on the host (it runs before the isolated ``execute``, as for any
task), so it runs before the target's ``pre_execute`` rather than after.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict

from airflow_isolation.runtime.task import airflow_compat


def _base_operator(info: airflow_compat.AirflowInfo) -> Any:
    if info.major >= 3:
        from airflow.sdk.bases.operator import BaseOperator
    else:
        from airflow.models.baseoperator import BaseOperator
    return BaseOperator


def _overrides(operator: Any, name: str, base: Any) -> bool:
    return getattr(getattr(operator, name, None), "__func__", None) is not getattr(base, name)


def _run(func: Callable[..., Any], context: Dict[str, Any], *args: Any) -> None:
    """``func(*args)`` as Airflow 3's ``create_executable_runner`` runs it: a generator's
    ``Metadata`` go into the context's ``outlet_events``."""
    from airflow.sdk.execution_time.callback_runner import create_executable_runner

    events = context.get("outlet_events")
    create_executable_runner(func, events, logger=logging.getLogger("airflow.task")).run(*args)


def pre_execute(info: airflow_compat.AirflowInfo, operator: Any, context: Dict[str, Any]) -> None:
    base = _base_operator(info)
    hook = getattr(operator, "_pre_execute_hook", None)
    if info.major >= 3:
        if hook is not None:
            _run(hook, context, context)
        if _overrides(operator, "pre_execute", base):
            _run(operator.pre_execute, context, context)
    elif hook is not None or _overrides(operator, "pre_execute", base):
        operator.pre_execute(context=context)


def post_execute(
    info: airflow_compat.AirflowInfo, operator: Any, context: Dict[str, Any], result: Any
) -> None:
    base = _base_operator(info)
    hook = getattr(operator, "_post_execute_hook", None)
    if info.major >= 3:
        if hook is not None:
            _run(hook, context, context, result)
        if _overrides(operator, "post_execute", base):
            _run(operator.post_execute, context, context)
    elif hook is not None or _overrides(operator, "post_execute", base):
        operator.post_execute(context=context, result=result)
