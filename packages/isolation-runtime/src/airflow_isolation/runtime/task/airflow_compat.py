"""Everything that differs between "no Airflow", Airflow 2.x and Airflow 3.x in the target.

The mechanics follow what the task runner of each version does (see DESIGN.md §5): Airflow 3 runs
``execute`` inside a context where ``ExecutorSafeguard`` already tracks the operator; Airflow 2
passes the ``<Class>__sentinel`` keyword. Both must first ``prepare_for_execution()``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from importlib import util
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from airflow_isolation.core import ConnectionSpec

# Spelt out, not taken from the class: importing secrets_backend imports Airflow, and this must be
# set before Airflow is imported.
_SECRETS_BACKEND = "airflow_isolation.runtime.task.secrets_backend.RequestSecretsBackend"


_AIRFLOW_2_TASK_MODULES = (
    "airflow.models.taskinstance",
    "airflow.utils.log.secrets_masker",
    "airflow.operators.python",
    "airflow.decorators",
)
_AIRFLOW_3_TASK_MODULES = (
    "airflow.sdk",
    "airflow.sdk.execution_time.context",
    "airflow.sdk.bases.operator",
    "airflow.sdk.log",
)


class AirflowInfo:
    def __init__(self, version: str):
        self.version = version
        self.major = int(version.split(".", maxsplit=1)[0])


@functools.cache
def detect() -> Optional[AirflowInfo]:
    """Find Airflow without importing it (importing costs seconds).

    Cached: a warm runtime finds it once for all its tasks (scanning the installed distributions
    costs ~10 ms).

    ``importlib.metadata`` (and the ``email`` package it pulls in) is imported only when Airflow
    is there: a target without Airflow never pays for it.
    """
    if util.find_spec("airflow") is None:
        return None
    from importlib import metadata

    for dist in ("apache-airflow-core", "apache-airflow", "apache-airflow-task-sdk"):
        try:
            return AirflowInfo(metadata.version(dist))
        except metadata.PackageNotFoundError:
            continue
    return None


def modules_every_task_imports(info: AirflowInfo) -> Tuple[str, ...]:
    """What a task under this Airflow imports beyond ``airflow`` itself: a warm runtime's preload."""
    return _AIRFLOW_3_TASK_MODULES if info.major >= 3 else _AIRFLOW_2_TASK_MODULES


def configure_environment() -> None:
    """Settings Airflow reads at import: our secrets backend first, no examples, no DB init."""
    os.environ["AIRFLOW__SECRETS__BACKEND"] = _SECRETS_BACKEND
    os.environ.pop("AIRFLOW__SECRETS__BACKEND_KWARGS", None)
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


def install_secrets(info: AirflowInfo, connections: List[ConnectionSpec], variables: Dict[str, str]) -> None:
    import airflow

    from airflow_isolation.runtime.task import secrets_backend

    secrets_backend.load(connections, variables)
    if info.major < 3:
        # Airflow 2 falls through to the metastore on a miss and logs sqlite errors: never go there.
        import airflow.configuration
        from airflow.secrets.environment_variables import EnvironmentVariablesBackend

        airflow.configuration.secrets_backend_list[:] = [
            secrets_backend.RequestSecretsBackend(),
            EnvironmentVariablesBackend(),
        ]


@contextlib.contextmanager
def current_context(info: Optional[AirflowInfo], context: Dict[str, Any]) -> Iterator[None]:
    """Make ``get_current_context()`` return our context while the task runs."""
    from airflow_isolation.runtime.task.context import set_current

    set_current(context)
    if info is None:
        yield
        return
    if info.major >= 3:
        from airflow.sdk.execution_time.context import set_current_context
    else:
        from airflow.models.taskinstance import set_current_context
    with set_current_context(context):
        yield


def import_class(class_path: str) -> Any:
    module_name, _, class_name = class_path.rpartition(".")
    if not module_name:
        raise ImportError(f"{class_path!r} is not a dotted path like 'package.module.Class'")
    module = __import__(module_name, fromlist=[class_name])
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise ImportError(f"module {module_name!r} has no attribute {class_name!r}") from None


def execute_operator(info: AirflowInfo, prepared: Any, context: Dict[str, Any]) -> Any:
    """Run ``prepared`` (what ``prepare_for_execution()`` returned) as Airflow's task runner does."""
    kwargs: Dict[str, Any] = {"context": context}
    if info.major < 3:
        kwargs.update(_airflow2_sentinel(prepared))
    return _guarded(info, prepared, prepared.execute, kwargs)


def resume_operator(
    info: AirflowInfo, prepared: Any, context: Dict[str, Any], method: str, method_kwargs: Dict[str, Any]
) -> Any:
    """Resume ``prepared`` after a trigger fired, as the task runner does (``resume_execution``);
    ``method`` ``"__fail__"`` with an ``error`` makes the operator raise what that Airflow raises."""
    next_kwargs = dict(method_kwargs)
    if info.major < 3 and method == "execute":
        next_kwargs.update(_airflow2_sentinel(prepared))
    call_kwargs = {"next_method": method, "next_kwargs": next_kwargs, "context": context}
    return _guarded(info, prepared, prepared.resume_execution, call_kwargs)


def _guarded(info: AirflowInfo, prepared: Any, call: Callable[..., Any], kwargs: Dict[str, Any]) -> Any:
    if info.major >= 3:
        from airflow.sdk.bases.operator import ExecutorSafeguard

        run_ctx = contextvars.copy_context()
        run_ctx.run(ExecutorSafeguard.tracker.set, prepared)
        return run_ctx.run(call, **kwargs)
    return call(**kwargs)


def _airflow2_sentinel(prepared: Any) -> Dict[str, Any]:
    """The keyword TaskInstance passes to ``execute`` to prove the call legitimate (2.9.2+).

    2.10 also lets an ``execute`` that calls ``super().execute`` through only if a sentinel waits
    under the parent class's name, which TaskInstance never leaves: a ``ShortCircuitOperator``
    then warns "cannot be called outside TaskInstance!". Every class of the operator gets one here.
    """
    try:
        from airflow.models.base import _sentinel as sentinel
    except ImportError:
        return {}
    try:
        from airflow.models.baseoperator import ExecutorSafeguard
    except ImportError:  # 2.9, before parent classes were checked
        ExecutorSafeguard = None
    callers = getattr(getattr(ExecutorSafeguard, "_sentinel", None), "callers", None)
    if isinstance(callers, dict):
        for klass in type(prepared).__mro__[1:]:
            if "execute" in vars(klass):
                callers[f"{klass.__name__}__sentinel"] = sentinel
    return {f"{type(prepared).__name__}__sentinel": sentinel}


def downstream_tasks_skipped(info: AirflowInfo) -> Optional[Callable[[List[str]], BaseException]]:
    """How this Airflow's ``SkipMixin.skip`` ends the task: Airflow 3 raises
    ``DownstreamTasksSkipped``; Airflow 2 writes to the database and returns (``None``)."""
    if info.major < 3:
        return None
    try:
        from airflow.sdk.exceptions import DownstreamTasksSkipped
    except ImportError:
        from airflow.exceptions import DownstreamTasksSkipped  # Airflow 3.0 and 3.1

    def build(ids: List[str]) -> BaseException:
        skipped: BaseException = DownstreamTasksSkipped(tasks=ids)
        return skipped

    return build


def call_generator(
    info: AirflowInfo, func: Callable[..., Any], events: Any, *args: Any, **kwargs: Any
) -> Any:
    """Run a generator callable as this Airflow's ``PythonOperator`` does: each ``Metadata`` it
    yields goes into ``events`` (the context's ``outlet_events``), and what it returns is the
    task's return value."""
    import logging

    logger = logging.getLogger("airflow.task")
    if info.major >= 3:
        from airflow.sdk.execution_time.callback_runner import create_executable_runner

        return create_executable_runner(func, events, logger=logger).run(*args, **kwargs)
    from airflow.utils.operator_helpers import ExecutionCallableRunner

    return ExecutionCallableRunner(func, events, logger=logger).run(*args, **kwargs)


def asset_classes(info: AirflowInfo) -> Tuple[Any, Optional[Any]]:
    """This Airflow's asset and asset alias classes: Airflow 3 ``Asset``, ``AssetAlias``; Airflow 2
    ``Dataset``, ``DatasetAlias`` (``None`` before 2.10, which has no aliases)."""
    if info.major >= 3:
        from airflow.sdk import Asset, AssetAlias

        return Asset, AssetAlias
    from airflow.datasets import Dataset

    try:
        from airflow.datasets import DatasetAlias
    except ImportError:
        return Dataset, None
    return Dataset, DatasetAlias


def outlet_event_accessors(info: AirflowInfo) -> Optional[Any]:
    """This Airflow's own ``OutletEventAccessors``, which ``yield Metadata`` and operators write into;
    ``None`` before Airflow 2.10, which has none (its tasks emit events without extras)."""
    try:
        if info.major >= 3:
            from airflow.sdk.execution_time.context import OutletEventAccessors
        else:
            from airflow.utils.context import OutletEventAccessors
    except ImportError:
        return None
    return OutletEventAccessors()


def register_secrets(info: AirflowInfo, secrets: List[str]) -> None:
    """Feed this Airflow's masker, which also redacts structured values (e.g. rendered dicts)."""
    if info.major >= 3:
        from airflow.sdk.log import mask_secret
    else:
        import airflow.settings
        from airflow.utils.log.secrets_masker import mask_secret

        airflow.settings.MASK_SECRETS_IN_LOGS = True
    for secret in secrets:
        mask_secret(secret)
