"""Parse-time checks of the arguments ``IsolatedOperator`` takes itself, and which of the others stay
on the host (``BaseOperator``'s) or go to the wrapped operator."""

from __future__ import annotations

import inspect
from typing import Any, Collection, Dict, Mapping

from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator.parse.wrapped import is_deferred_value

_BASE_OPERATOR_PARAMS = frozenset(inspect.signature(airflow_compat.BaseOperator.__init__).parameters) - {
    "self",
    "kwargs",
}


def split_base_kwargs(kwargs: Dict[str, Any]) -> tuple[Dict[str, Any], Dict[str, Any]]:
    """BaseOperator's own arguments (retries, pool, …) stay on the host; the rest is the wrapped op's."""
    base = {k: v for k, v in kwargs.items() if k in _BASE_OPERATOR_PARAMS}
    return base, {k: v for k, v in kwargs.items() if k not in base}


def names(value: Any, what: str, task_id: str) -> list[str]:
    """``connections``/``variables``: a string would silently become a list of its characters."""
    if isinstance(value, str) or not isinstance(value, Collection):
        example = f"[{value!r}]" if isinstance(value, str) else '["name"]'
        raise TypeError(
            f"IsolatedOperator {task_id!r}: {what} must be a list of names, e.g. {what}={example}, "
            f"not {type(value).__name__} {value!r}"
        )
    bad = [name for name in value if not isinstance(name, str) or not name]
    if bad:
        raise TypeError(f"IsolatedOperator {task_id!r}: {what} must hold non-empty strings, got {bad!r}")
    return list(value)


def check_call_arguments(op_args: Any, op_kwargs: Any, task_id: str) -> None:
    """Values Airflow resolves at run time (an upstream task's ``.output``) are checked then."""
    if (
        op_kwargs is not None
        and not is_deferred_value(op_kwargs)
        and (not isinstance(op_kwargs, Mapping) or not all(isinstance(k, str) for k in op_kwargs))
    ):
        raise TypeError(
            f"IsolatedOperator {task_id!r}: op_kwargs must be a dict of argument names to values, "
            f"e.g. op_kwargs={{'day': '{{{{ ds }}}}'}}, not {type(op_kwargs).__name__} {op_kwargs!r}"
        )
    if (
        op_args is not None
        and not is_deferred_value(op_args)
        and (isinstance(op_args, (str, bytes, Mapping)) or not isinstance(op_args, Collection))
    ):
        raise TypeError(
            f"IsolatedOperator {task_id!r}: op_args must be a list of positional arguments, e.g. "
            f"op_args=[{op_args!r}], not {type(op_args).__name__} {op_args!r}"
        )
