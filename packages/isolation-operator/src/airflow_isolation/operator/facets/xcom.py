"""XComs across the boundary: upstream return values shipped for ``ti.xcom_pull``, and the target's
``ti.xcom_push`` calls replayed on the host."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Dict, Iterable

from airflow_isolation.core import IsolationRequest, IsolationResult, ValueEncodeError
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.operator.facets.base import Fields, HostFacet, HostTask

log = logging.getLogger(__name__)


def _upstream_xcoms(context: Any, upstream_ids: Iterable[str]) -> Dict[str, Any]:
    """Return values of direct upstream tasks, as pulled: ``encode`` lowers each once, leaving out
    (with ``warn_unsendable_xcom``) one that cannot travel."""
    ti = context["ti"]
    shipped: Dict[str, Any] = {}
    for task_id in sorted(upstream_ids):
        try:
            value = ti.xcom_pull(task_ids=task_id)
            if value is not None and not isinstance(value, (str, bytes, dict)) and hasattr(value, "__iter__"):
                value = list(value)  # lazy sequences of mapped upstreams
        except Exception:
            log.debug("No XCom from upstream task %r", task_id, exc_info=True)
            continue
        shipped[task_id] = value
    return shipped


def warn_unsendable_xcom(task_id: str, error: ValueEncodeError) -> None:
    """An upstream XCom the task may never read must not fail it: leave it out, say so."""
    log.warning("Not shipping the XCom of upstream task %r: %s", task_id, error)


class XCom(HostFacet):
    facet: ClassVar[Facet] = BY_NAME["xcom"]

    def needed(self, task: HostTask, request: IsolationRequest) -> bool:
        """Every task may pull and push: the schema has carried both since its first version."""
        return True

    def context_fields(self, task: HostTask) -> Fields:
        return {"upstream_xcoms": _upstream_xcoms(task.context, task.upstream_ids)}

    def ended(self, operator: Any, context: Dict[str, Any], result: IsolationResult) -> None:
        for push in result.xcom_pushes:
            context["ti"].xcom_push(key=push.key, value=push.value)
