"""``write_back``: what an isolated task may hand back to Airflow, applied on the host after success.

XComs are replayed by default (a task's pushes are part of its result, as with any operator);
``Variable.set`` is applied only when the task opts in, because the target cannot write it itself
and a write buffered by a task that then fails must not happen. The argument is checked when the
DAG is parsed (``parse/write_back_kinds.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict

from airflow_isolation.core import IsolationRequest, IsolationResult
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator.facets.base import Fields, HostFacet, HostTask
from airflow_isolation.operator.parse.write_back_kinds import DEFAULT


class WriteBack(HostFacet):
    facet: ClassVar[Facet] = BY_NAME["write_back"]

    def needed(self, task: HostTask, request: IsolationRequest) -> bool:
        """Any choice but the default: a runtime without the facet replays every push and refuses
        every ``Variable.set``, whatever the task allowed."""
        return set(task.write_back) != set(DEFAULT)

    def option_fields(self, task: HostTask) -> Fields:
        return {
            "xcom_write_back": "xcom" in task.write_back,
            "variable_write_back": "variables" in task.write_back,
        }

    def succeeded(self, operator: Any, context: Dict[str, Any], result: IsolationResult) -> None:
        """Apply the target's ``Variable.set`` calls in their order (only a successful run gets here)."""
        for write in result.variable_writes:
            if "variables" not in operator.write_back:
                raise airflow_compat.AirflowException(
                    f"the target sent a Variable.set({write.key!r}) though write_back does not include "
                    '"variables": refusing it. Rebuild the environment so its runtime matches the operator.'
                )
            airflow_compat.Variable.set(write.key, write.value, description=write.description)
            operator.log.info("Applied Variable.set(%r) from the isolated task", write.key)
