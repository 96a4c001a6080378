"""The wrapped operator resumed after a deferral the host's Airflow ran.

Most deferrals run in the target (``task/deferral.py``), but some are made by the host's Airflow
on the operator's behalf: Airflow 3's task runner defers ``TriggerDagRunOperator`` with a
``DagStateTrigger`` itself once the dag run exists. The host's triggerer runs it and its worker
resumes the task with ``method(context, event=...)``; that method is the wrapped operator's, so
the host sends it here and the operator resumes as natively, in the target (``pre_execute`` first).
"""

from __future__ import annotations

from typing import ClassVar

from airflow_isolation.core import CallableSpec, IsolationRequest
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.runtime.facets.base import RequestRefused, TargetFacet


class ResumptionFacet(TargetFacet):
    facet: ClassVar[Facet] = BY_NAME["resumption"]

    @classmethod
    def check(cls, request: IsolationRequest) -> None:
        resumption = request.resumption
        if resumption is None:
            return
        if isinstance(request.task, CallableSpec):
            raise RequestRefused(
                f"a callable cannot resume with {resumption.method!r}: only an operator defers"
            )
        if resumption.method.startswith("_") or not resumption.method.isidentifier():
            raise RequestRefused(f"{resumption.method!r} is no method an operator resumes with")

    def install(self) -> None:
        resumption = self.run.request.resumption
        if resumption is not None:
            self.run.resume_with = (resumption.method, dict(resumption.kwargs))
            self.run.log(f"resuming {type(self.run.operator).__name__} with {resumption.method}")
