"""The host's Airflow, 2.10 or 3.x: every version-dependent import lives here."""

from __future__ import annotations

from typing import Any

from airflow import __version__ as AIRFLOW_VERSION
from airflow.exceptions import AirflowException

AIRFLOW_MAJOR = int(AIRFLOW_VERSION.split(".")[0])

if AIRFLOW_MAJOR >= 3:
    from airflow.providers.standard.operators.branch import BranchMixIn
    from airflow.sdk import BaseOperator, BaseSensorOperator, Connection, Variable
    from airflow.sdk._shared.secrets_masker import redact
    from airflow.sdk.bases.decorator import DecoratedOperator, task_decorator_factory
    from airflow.sdk.log import mask_secret

    try:
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException, TaskDeferred
    except ImportError:  # Airflow 3.1 (checked on 3.1.8): the task SDK raises airflow.exceptions' classes
        from airflow.exceptions import AirflowFailException, AirflowSkipException, TaskDeferred
else:
    from airflow.decorators.base import DecoratedOperator, task_decorator_factory
    from airflow.exceptions import AirflowFailException, AirflowSkipException, TaskDeferred
    from airflow.models import Variable
    from airflow.models.baseoperator import BaseOperator
    from airflow.models.connection import Connection
    from airflow.operators.branch import BranchMixIn
    from airflow.sensors.base import BaseSensorOperator
    from airflow.utils.log.secrets_masker import mask_secret, redact


def get_connection(conn_id: str) -> Any:
    if AIRFLOW_MAJOR >= 3:
        return Connection.get(conn_id)
    from airflow.hooks.base import BaseHook

    return BaseHook.get_connection(conn_id)


def get_variable(key: str) -> str:
    return Variable.get(key)  # type: ignore[no-any-return]


def is_sensitive_name(name: str) -> bool:
    """Airflow's own rule for values it hides (names containing 'password', 'secret'…)."""
    try:
        if AIRFLOW_MAJOR >= 3:
            from airflow.sdk._shared.secrets_masker import should_hide_value_for_key
        else:
            from airflow.utils.log.secrets_masker import should_hide_value_for_key
    except ImportError:
        words = ("password", "secret", "passwd", "token", "api_key", "apikey", "private_key", "access")
        return any(word in name.lower() for word in words)
    return bool(should_hide_value_for_key(name))


def registered_secrets() -> list[str]:
    """Every value the host's secrets masker hides so far in this task (connection passwords and
    sensitive Variables that templates read, anything a hook registered).

    The masker keeps them as ``re.escape``d patterns in ``patterns`` on 2.10 and 3.x alike; an
    Airflow without that attribute yields nothing, and only the request's own secrets are masked.
    """
    import re

    try:
        if AIRFLOW_MAJOR >= 3:
            from airflow.sdk._shared.secrets_masker import _secrets_masker
        else:
            from airflow.utils.log.secrets_masker import _secrets_masker
        patterns = set(getattr(_secrets_masker(), "patterns", ()) or ())
    except ImportError:
        return []
    return sorted(re.sub(r"\\(.)", r"\1", pattern, flags=re.DOTALL) for pattern in patterns)


def host_exception(name: str) -> Any:
    """The class the host's task runner handles (3.x: the task SDK's, 2.x: ``airflow.exceptions``)."""
    if AIRFLOW_MAJOR >= 3:
        try:
            from airflow.sdk import exceptions as sdk_exceptions

            return getattr(sdk_exceptions, name)
        except (ImportError, AttributeError):
            pass
    import airflow.exceptions

    return getattr(airflow.exceptions, name)


def first_try_start(context: Any, retries: int) -> Any:
    """When this task's first try started, from the host's task reschedules, as a sensor in
    reschedule mode asks natively (3.x: the API server; 2.x: the database)."""
    ti = context["ti"]
    if AIRFLOW_MAJOR >= 3:
        return ti.get_first_reschedule_date(context)
    from airflow.sensors.base import _orig_start_date

    return _orig_start_date(
        dag_id=ti.dag_id,
        task_id=ti.task_id,
        run_id=ti.run_id,
        map_index=ti.map_index,
        try_number=(ti.max_tries or 0) - (retries or 0) + 1,
    )


def sensor_dependencies() -> frozenset[Any]:
    """What a sensor adds to its task's ``deps`` for the scheduler: 2.10 waits for the reschedule
    date through ``ReadyToRescheduleDep``; Airflow 3 derives it from the serialized ``_is_sensor``."""
    if AIRFLOW_MAJOR >= 3:
        return frozenset()
    from airflow.ti_deps.deps.ready_to_reschedule import ReadyToRescheduleDep

    return frozenset({ReadyToRescheduleDep()})


def new_asset(name: str, uri: str, extra: dict[str, Any], group: str) -> Any:
    """The host's asset (3.x ``Asset``; 2.x ``Dataset``, which has only a URI)."""
    if AIRFLOW_MAJOR >= 3:
        from airflow.sdk import Asset

        grouped = {"group": group} if group else {}
        return Asset(name=name, uri=uri or name, extra=dict(extra), **grouped)
    from airflow.datasets import Dataset

    return Dataset(uri=uri or name, extra=dict(extra) or None)


def new_asset_alias(name: str) -> Any:
    """The host's asset alias (3.x ``AssetAlias``; 2.x ``DatasetAlias``)."""
    if AIRFLOW_MAJOR >= 3:
        from airflow.sdk import AssetAlias

        return AssetAlias(name=name)
    from airflow.datasets import DatasetAlias

    return DatasetAlias(name=name)


def get_conf(section: str, key: str) -> str | None:
    from airflow.configuration import conf

    value = conf.get(section, key, fallback=None)
    return value or None


__all__ = [
    "AIRFLOW_MAJOR",
    "AIRFLOW_VERSION",
    "AirflowException",
    "AirflowFailException",
    "AirflowSkipException",
    "BaseOperator",
    "BaseSensorOperator",
    "BranchMixIn",
    "DecoratedOperator",
    "TaskDeferred",
    "Variable",
    "mask_secret",
    "redact",
    "task_decorator_factory",
]
