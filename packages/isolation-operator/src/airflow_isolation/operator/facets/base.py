"""The host half of a facet: what it ships into the request, and what it applies of the result.

A facet is a feature that crosses the boundary (skips, sensors, assets, lineage…); its fields and
the schema minor that introduced it are in :mod:`airflow_isolation.core.facets`. Its host half is
one class here, in a module named after it, and it alone reads or writes those fields, so a new
feature is one module per side plus its schema fields. The request builder, the result handler and
the older-runtime check loop over ``HOST_FACETS`` (``facets/__init__.py``) and know no facet.
"""

from __future__ import annotations

import dataclasses
from typing import AbstractSet, Any, ClassVar, Dict, Mapping, Optional, Sequence, Tuple

from airflow_isolation.core import IsolationRequest, IsolationResult, ShippedModule
from airflow_isolation.core.facets import Facet
from airflow_isolation.core.schema import TaskSpec

Fields = Dict[str, Any]
"""Keyword arguments of a schema Struct: the facet's own fields, with the values it ships."""


@dataclasses.dataclass(frozen=True)
class HostTask:
    """One try of an isolated task, as the facets see it before it runs: Airflow's context and what
    the operator learnt when the DAG was parsed. Plain values, so a facet is tested without a DAG."""

    context: Mapping[str, Any]
    spec: Optional[TaskSpec] = None
    upstream_ids: AbstractSet[str] = frozenset()
    wrapped_class: Optional[type] = None
    """The wrapped operator's class; ``None`` for a callable, or a class the host cannot import."""
    class_path: Optional[str] = None
    """The wrapped operator's dotted path; ``None`` for a callable."""
    write_back: AbstractSet[str] = frozenset({"xcom"})
    sensor: bool = False
    reschedule: bool = False
    """A sensor in ``mode="reschedule"``."""
    retries: int = 0
    own_modules: Sequence[ShippedModule] = ()
    """Modules made on the host (a class defined in the DAG file)."""
    channel_offered: bool = False
    """The host opens a channel back to itself for this try (``operator/channel/``)."""
    resume_wrapped: Optional[Tuple[str, Mapping[str, Any]]] = None
    """The wrapped operator's method (and its keyword arguments) the host's Airflow resumes this
    try with, after a deferral the host ran; ``None`` for a try that starts with ``execute``."""

    @property
    def unknown_class(self) -> bool:
        """An operator whose class only the target has: what it does cannot be judged here."""
        return self.class_path is not None and self.wrapped_class is None


class HostFacet:
    """Each method has the default of a facet with nothing to do at that step."""

    facet: ClassVar[Facet]

    def needed(self, task: HostTask, request: IsolationRequest) -> bool:
        """Whether this task relies on the facet, so that a runtime without it must not run it (it
        would drop the facet's fields, and with them the feature, silently). When the host cannot
        tell, the answer is yes."""
        raise NotImplementedError

    def context_fields(self, task: HostTask) -> Fields:
        """Its fields of ``TaskContext``."""
        return {}

    def option_fields(self, task: HostTask) -> Fields:
        """Its fields of ``RunOptions``."""
        return {}

    def request_fields(self, task: HostTask) -> Fields:
        """Its fields of ``IsolationRequest``."""
        return {}

    def ended(self, operator: Any, context: Dict[str, Any], result: IsolationResult) -> None:
        """Applied whatever the outcome, before it is judged (Airflow keeps what a failing task pushed)."""

    def failed(self, operator: Any, context: Dict[str, Any], result: IsolationResult) -> None:
        """A failed result: raise the host's own exception when the facet explains the failure."""

    def succeeded(self, operator: Any, context: Dict[str, Any], result: IsolationResult) -> None:
        """Applied after success, as the host's Airflow applies a native task's."""
