"""``@task.isolated``: a TaskFlow function run in an isolated environment.

The function travels as source, like ``@task.virtualenv``: import what it needs inside its body.
Context values it names as parameters (``ds``, ``ti``, ``params``…) are passed in the target.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator.operator import IsolatedOperator


class IsolatedDecoratedOperator(airflow_compat.DecoratedOperator, IsolatedOperator):  # type: ignore[misc]
    custom_operator_name = "@task.isolated"
    template_fields = IsolatedOperator.template_fields
    template_fields_renderers = IsolatedOperator.template_fields_renderers

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Any = None,
        op_kwargs: Any = None,
        **kwargs: Any,
    ):
        kwargs_to_upstream = {"python_callable": python_callable, "op_args": op_args, "op_kwargs": op_kwargs}
        super().__init__(
            kwargs_to_upstream=kwargs_to_upstream,
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            **kwargs,
        )


def isolated_task(
    python_callable: Optional[Callable[..., Any]] = None,
    multiple_outputs: Optional[bool] = None,
    **kwargs: Any,
) -> Any:
    """Decorate a function to run it in ``environment`` (``@task.isolated(environment="...")``)."""
    return airflow_compat.task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=multiple_outputs,
        decorated_operator_class=IsolatedDecoratedOperator,
        **kwargs,
    )
