"""``TriggerDagRunOperator``: the dag run is created by the host's Airflow, as natively.

On Airflow 3 the operator computes the run (its id, logical date, conf) and raises
``DagRunTriggerException`` for the task runner, which creates it through the API server and
waits for it as asked. The target has no API server, so the signal travels to the host
(``IsolationResult.dag_run_trigger``), whose Airflow 3 task runner gets the same exception.

On Airflow 2 the operator creates the run itself with ``trigger_dag`` (a database write). Here
``trigger_dag`` raises the same signal instead, filled from the operator and what it passed, so the
host's Airflow 3 does what it does for an Airflow 3 operator. What an Airflow 2 operator does after
creating the run (its XComs, its wait) is then the host task runner's, as for Airflow 3.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Any, ClassVar, Dict, List, Optional

from airflow_isolation.core import DagRunTrigger
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.runtime.facets.base import TargetFacet
from airflow_isolation.runtime.task.outcome import is_a

if TYPE_CHECKING:
    from airflow_isolation.runtime.task.outcome import Outcome

AIRFLOW2_MODULES = (
    "airflow.operators.trigger_dagrun",
    "airflow.providers.standard.operators.trigger_dagrun",
)
"""Where an Airflow 2 ``TriggerDagRunOperator`` finds ``trigger_dag``: core, or the standard provider."""


class DagRunTriggerSignal(Exception):
    """What ``trigger_dag`` raises in an Airflow 2 target: the run the operator asked for."""

    def __init__(self, trigger: DagRunTrigger) -> None:
        super().__init__(f"trigger {trigger.trigger_dag_id} run {trigger.dag_run_id}")
        self.trigger = trigger


def _datetime(value: Any) -> Optional[dt.datetime]:
    """A datetime the signal carries, else ``None`` (the codec makes a pendulum one plain)."""
    return value if isinstance(value, dt.datetime) else None


def _states(value: Any) -> List[str]:
    return [str(getattr(state, "value", state)) for state in (value or ())]


def from_exception(exc: BaseException) -> DagRunTrigger:
    """Airflow 3's ``DagRunTriggerException``, field by field (its attributes are set in its
    ``__init__``; one an older Airflow 3 lacks keeps the schema's default)."""
    signal: Dict[str, Any] = vars(exc)
    return DagRunTrigger(
        trigger_dag_id=str(signal["trigger_dag_id"]),
        dag_run_id=str(signal["dag_run_id"]),
        conf=signal.get("conf"),
        logical_date=_datetime(signal.get("logical_date")),
        run_after_date=_datetime(signal.get("run_after")),
        reset_dag_run=bool(signal.get("reset_dag_run", False)),
        skip_when_already_exists=bool(signal.get("skip_when_already_exists", False)),
        wait_for_completion=bool(signal.get("wait_for_completion", False)),
        allowed_states=_states(signal.get("allowed_states")),
        failed_states=_states(signal.get("failed_states")),
        poke_interval=float(signal.get("poke_interval", 60)),
        deferrable=bool(signal.get("deferrable", False)),
        note=signal.get("note"),
    )


AIRFLOW2_DEFERRABLE_REFUSED = (
    "TriggerDagRunOperator(wait_for_completion=True, deferrable=True) in an Airflow 2 environment: "
    "after the triggerer's wait, its execute_complete reads the dag run from the metadata database, "
    "which an isolated task cannot reach. Use deferrable=False (the host's Airflow then waits for the "
    "run itself), or an environment with Airflow 3, whose operator needs no database."
)


def from_airflow2_operator(
    operator: Any, dag_id: str, run_id: str, conf: Any, logical_date: Any
) -> DagRunTrigger:
    """What an Airflow 2 ``TriggerDagRunOperator`` passes to ``trigger_dag``, and the rest of what the
    Airflow 3 signal carries, from the operator's own attributes."""
    deferrable = bool(getattr(operator, "_defer", getattr(operator, "deferrable", False)))
    if deferrable and getattr(operator, "wait_for_completion", False):
        raise RuntimeError(AIRFLOW2_DEFERRABLE_REFUSED)
    return DagRunTrigger(
        trigger_dag_id=str(dag_id),
        dag_run_id=str(run_id),
        conf=conf,
        logical_date=_datetime(logical_date),
        run_after_date=_datetime(logical_date),
        reset_dag_run=bool(getattr(operator, "reset_dag_run", False)),
        skip_when_already_exists=bool(getattr(operator, "skip_when_already_exists", False)),
        wait_for_completion=bool(getattr(operator, "wait_for_completion", False)),
        allowed_states=_states(getattr(operator, "allowed_states", ())),
        failed_states=_states(getattr(operator, "failed_states", ())),
        poke_interval=float(getattr(operator, "poke_interval", 60)),
        deferrable=deferrable,
    )


class DagRunTriggerFacet(TargetFacet):
    facet: ClassVar[Facet] = BY_NAME["dag_run_trigger"]

    def __init__(self, run: Any) -> None:
        super().__init__(run)
        self.trigger: Optional[DagRunTrigger] = None

    def install(self) -> None:
        operator = self.run.operator
        info = self.run.airflow
        if operator is None or info is None or info.major >= 3:
            return

        def trigger_dag(
            dag_id: str, run_id: Any = None, conf: Any = None, execution_date: Any = None, **_: Any
        ) -> Any:
            raise DagRunTriggerSignal(from_airflow2_operator(operator, dag_id, run_id, conf, execution_date))

        for name in AIRFLOW2_MODULES:
            module = sys.modules.get(name)
            if module is not None and hasattr(module, "trigger_dag"):
                vars(module)["trigger_dag"] = trigger_dag

    def ended(self, exc: BaseException) -> Optional[BaseException]:
        if isinstance(exc, DagRunTriggerSignal):
            self.trigger = exc.trigger
        elif is_a(exc, "DagRunTriggerException"):
            self.trigger = from_exception(exc)
        else:
            return exc
        asked = self.trigger
        self.run.log(
            f"the operator asks Airflow to trigger {asked.trigger_dag_id} run {asked.dag_run_id}: "
            "the host's Airflow creates it"
        )
        return None

    def collect(self, outcome: Outcome) -> Dict[str, Any]:
        return {"dag_run_trigger": self.trigger} if outcome.succeeded and self.trigger is not None else {}
