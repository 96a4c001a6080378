"""What the target half of a facet is: hooks a run calls, in this order, on every facet.

A facet (``airflow_isolation.core.facets``) is one feature that crosses the boundary. In the
target it reads its fields of the request, installs itself into the task's run (the operator, the
context, Airflow's modules) before the task runs, and collects its fields of the result when the
task has ended, whichever way it ended. ``entrypoint.run`` only loops over the facets, so a new
feature is a new module here plus its schema fields, and nothing else in the runtime names them.
Every hook does nothing unless its facet needs it.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, ClassVar, ContextManager, Dict, Optional

from airflow_isolation.core import IsolationRequest
from airflow_isolation.core.facets import Facet

if TYPE_CHECKING:
    from airflow_isolation.runtime.task.outcome import Outcome
    from airflow_isolation.runtime.task.run import TaskRun


class RequestRefused(Exception):
    """A request a facet must refuse before anything runs: the host operator did not write it."""


class TargetFacet:
    facet: ClassVar[Facet]
    """Its row in ``core.facets``: its name and the schema fields it alone reads and writes."""

    def __init__(self, run: TaskRun) -> None:
        self.run = run

    @classmethod
    def check(cls, request: IsolationRequest) -> None:
        """Raise ``RequestRefused`` for fields that must not be acted on; called as the request is read."""

    @classmethod
    def needs_airflow(cls, request: IsolationRequest) -> bool:
        """Whether this facet needs the target's Airflow imported even for a plain callable."""
        return False

    def scope(self) -> ContextManager[object]:
        """What must hold for the whole run, Airflow's detection included."""
        return contextlib.nullcontext()

    def before_airflow(self) -> None:
        """The run uses Airflow, which is not imported yet: patch what its import brings."""

    def install(self) -> None:
        """The operator (``run.operator``) and the context (``run.context``) exist; the task has not run."""

    def ended(self, exc: BaseException) -> Optional[BaseException]:
        """The task raised ``exc``: ``None`` when this facet's feature ends a task that way successfully,
        else the exception to report (``exc``, or a clearer one)."""
        return exc

    def native_state(self, exc: BaseException) -> Optional[str]:
        """The state natively given to a task that failed with ``exc``, when it is not plain ``failed``."""
        return None

    def collect(self, outcome: Outcome) -> Dict[str, Any]:
        """This facet's fields of the result, once the task has ended as ``outcome`` says."""
        return {}
