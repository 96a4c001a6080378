"""A branching operator's choice, made in the target and followed with the host's ``do_branch``."""

from __future__ import annotations

from typing import Any, ClassVar, Dict

from airflow_isolation.core import IsolationRequest, IsolationResult
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.operator.facets.base import HostFacet, HostTask


def in_mro(cls: type, name: str) -> bool:
    """Whether ``cls`` derives from a class called ``name``: Airflow has moved its mixins between
    modules (``airflow.models``, the standard provider, ``airflow.sdk.bases``), and a DAG may use
    any of them."""
    return any(klass.__name__ == name for klass in cls.__mro__)


class Branch(HostFacet):
    facet: ClassVar[Facet] = BY_NAME["branch"]

    def needed(self, task: HostTask, request: IsolationRequest) -> bool:
        if task.wrapped_class is None:
            return task.unknown_class
        return in_mro(task.wrapped_class, "BranchMixIn")

    def succeeded(self, operator: Any, context: Dict[str, Any], result: IsolationResult) -> None:
        if result.branch is not None:
            operator.do_branch(context, result.branch)
