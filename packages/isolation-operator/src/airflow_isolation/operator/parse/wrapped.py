"""What the host knows about the wrapped operator class, learnt at DAG parse time.

The class is imported on the host when it can be, to learn its template fields (rendering happens
on the host, with the DAG's Jinja environment) and its constructor parameters (a misspelt kwarg
fails at parse time). When the class only exists in the target environment, the user declares its
template fields instead.
"""

from __future__ import annotations

import importlib
from typing import Any, Dict, Optional, Sequence, Tuple, Union

from airflow_isolation.core import ShippedModule
from airflow_isolation.core.values import Lowerer
from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator.parse.kwarg_types import check_kwarg_types
from airflow_isolation.operator.parse.signature import constructor_params
from airflow_isolation.operator.shipping.callable_source import callable_spec
from airflow_isolation.operator.shipping.dag_file_code import class_module, defined_in_dag_file

_DEFERRED_VALUE_TYPES = {
    "XComArg",
    "PlainXComArg",
    "MapXComArg",
    "ZipXComArg",
    "ConcatXComArg",
    "MappedArgument",
}


class OperatorResolutionError(airflow_compat.AirflowException):
    pass


class WrappedOperator:
    def __init__(
        self,
        operator: Union[str, type],
        task_id: str,
        template_fields: Optional[Sequence[str]] = None,
        template_ext: Optional[Sequence[str]] = None,
    ):
        self.operator_class, self.class_path = _resolve(operator, task_id, template_fields is not None)
        cls = self.operator_class
        self.dag_file_module: Optional[ShippedModule] = None
        if cls is not None and defined_in_dag_file(cls):
            self.class_path, self.dag_file_module = class_module(cls, task_id)
        self.template_fields: Tuple[str, ...] = tuple(
            template_fields if template_fields is not None else getattr(cls, "template_fields", ())
        )
        self.template_ext: Tuple[str, ...] = tuple(
            template_ext if template_ext is not None else getattr(cls, "template_ext", ())
        )
        self.task_id = task_id

    @property
    def name(self) -> str:
        return self.class_path.rpartition(".")[2]

    def check_kwargs(self, kwargs: Dict[str, Any]) -> None:
        """Refuse misspelt or missing constructor arguments now rather than in the target."""
        cls = self.operator_class
        if cls is None:
            return
        accepted, required = constructor_params(cls)
        unknown = sorted(set(kwargs) - accepted)
        if unknown:
            raise TypeError(
                f"IsolatedOperator {self.task_id!r}: {self.name} got unexpected keyword argument(s) "
                f"{', '.join(map(repr, unknown))}; check the spelling against {self.class_path}"
            )
        missing = sorted(required - set(kwargs) - {"task_id"})
        if missing:
            raise TypeError(
                f"IsolatedOperator {self.task_id!r}: {self.name} is missing required argument(s) "
                f"{', '.join(map(repr, missing))}"
            )
        check_kwarg_types(cls, kwargs, self.template_fields, f"IsolatedOperator {self.task_id!r}", self.name)


def _resolve(operator: Union[str, type], task_id: str, declared: bool) -> Tuple[Optional[type], str]:
    if isinstance(operator, type):
        return operator, f"{operator.__module__}.{operator.__qualname__}"
    if not isinstance(operator, str) or "." not in operator.strip("."):
        raise OperatorResolutionError(
            f"IsolatedOperator {task_id!r}: operator must be an operator class or its dotted path like "
            f"'airflow.providers.standard.operators.bash.BashOperator', got {operator!r}"
        )
    module_name, _, class_name = operator.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except ModuleNotFoundError as exc:
        if declared:
            return None, operator
        raise OperatorResolutionError(
            f"IsolatedOperator {task_id!r}: cannot import {operator!r} on the host ({exc}). The host "
            "imports the class to render its templates. Check the path; if the operator exists only "
            "in the target environment, pass operator_template_fields=[...] (and operator_template_ext) "
            "to declare which arguments are templated."
        ) from exc
    except AttributeError:
        raise OperatorResolutionError(
            f"IsolatedOperator {task_id!r}: module {module_name!r} has no class {class_name!r}; "
            "check the operator path"
        ) from None
    if not isinstance(cls, type):
        raise OperatorResolutionError(f"IsolatedOperator {task_id!r}: {operator!r} is not a class")
    return cls, operator


def is_deferred_value(value: Any) -> bool:
    """An XComArg or mapped argument: Airflow resolves it only at run time."""
    return type(value).__name__ in _DEFERRED_VALUE_TYPES


class ParseTimeChecker(Lowerer):
    """A dry run of the encoding, so an unsendable kwarg fails when the DAG is parsed.

    Values Airflow resolves only at run time (XComArgs, mapped arguments) are accepted here.
    """

    def __init__(self) -> None:
        super().__init__("msgpack", callable_spec)

    def lower(self, value: Any, path: str = "value") -> Any:
        if is_deferred_value(value):
            return None
        return super().lower(value, path)


def check_encodable(kwargs: Dict[str, Any], task_id: str) -> None:
    ParseTimeChecker().lower(kwargs, f"IsolatedOperator {task_id!r}: kwargs")
