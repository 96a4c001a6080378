"""``write_back``: what an isolated task may hand back to Airflow, applied on the host after success.

XComs are replayed by default (a task's pushes are part of its result, as with any operator);
``Variable.set`` is applied only when the task opts in, because the target cannot write it itself
and a write buffered by a task that then fails must not happen. Checked at DAG parse time.
"""

from __future__ import annotations

from typing import Any, Collection, FrozenSet

from airflow_isolation.core import IsolationResult, RunOptions
from airflow_isolation.operator import airflow_compat

KINDS = ("xcom", "variables")
DEFAULT: FrozenSet[str] = frozenset({"xcom"})


def parse(value: Any, where: str) -> FrozenSet[str]:
    if isinstance(value, str) or not isinstance(value, Collection):
        raise TypeError(
            f"{where}: write_back must be a list of kinds out of {list(KINDS)}, e.g. "
            f'write_back=["xcom", "variables"], not {value!r}'
        )
    unknown = sorted(str(kind) for kind in value if kind not in KINDS)
    if unknown:
        raise ValueError(
            f"{where}: unknown write_back kind(s) {unknown}; the kinds are {list(KINDS)} "
            '("xcom": replay ti.xcom_push calls, "variables": apply Variable.set calls, both on the host '
            "after the task succeeds)"
        )
    return frozenset(value)


def run_options(kinds: Collection[str]) -> RunOptions:
    return RunOptions(xcom_write_back="xcom" in kinds, variable_write_back="variables" in kinds)


def apply_variable_writes(operator: Any, result: IsolationResult) -> None:
    """Apply the target's ``Variable.set`` calls in their order (only a successful run gets here)."""
    for write in result.variable_writes:
        if "variables" not in operator.write_back:
            raise airflow_compat.AirflowException(
                f"the target sent a Variable.set({write.key!r}) though write_back does not include "
                '"variables": refusing it. Rebuild the environment so its runtime matches the operator.'
            )
        airflow_compat.Variable.set(write.key, write.value, description=write.description)
        operator.log.info("Applied Variable.set(%r) from the isolated task", write.key)
