"""The wrapped operator's OpenLineage lineage, computed where its classes exist.

The host's OpenLineage listener asks the task for its lineage when the task ends, as the provider's
``DefaultExtractor`` does: ``get_openlineage_facets_on_failure`` after a failure (else
``..._on_complete``), ``..._on_complete`` after success (else ``..._on_start``). An isolated task's
operator lives here, so the same choice is made here, with the task instance stand-in, and what
the method returned travels back in plain JSON form. The START event is the host's alone: it is
sent before the target exists (docs/native-parity.md, "OpenLineage").

The target may have neither OpenLineage nor attrs: nothing here needs them (the provider's adapter
is imported when it is there, as natively), and an operator whose methods need them fails with an
ImportError that is logged, as the provider logs it. Nothing here may fail the task.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import uuid
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, List, Optional, Tuple

from airflow_isolation.core import (
    SCHEMA_VERSION,
    IsolationResult,
    OpenLineageFacets,
    OpenLineageReport,
    encode,
    encode_json,
)
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.runtime.facets.base import TargetFacet

if TYPE_CHECKING:
    from airflow_isolation.runtime.task.outcome import Outcome
    from airflow_isolation.runtime.task.run import TaskRun

ON_START = "get_openlineage_facets_on_start"
ON_COMPLETE = "get_openlineage_facets_on_complete"
ON_FAILURE = "get_openlineage_facets_on_failure"


def _method(operator: Any, name: str) -> Optional[Callable[..., Any]]:
    method = getattr(operator, name, None)
    return method if callable(method) else None


def has_lineage_methods(operator: Any) -> bool:
    """What makes the provider pick its ``DefaultExtractor`` for an operator."""
    return _method(operator, ON_START) is not None or _method(operator, ON_COMPLETE) is not None


def _final_call(operator: Any, task_instance: Any, failed: bool) -> Tuple[str, Callable[[], Any]]:
    """The method ``DefaultExtractor.extract_on_failure`` / ``extract_on_complete`` would call, ready
    to call."""
    for name in [ON_FAILURE, ON_COMPLETE] if failed else [ON_COMPLETE]:
        method = _method(operator, name)
        if method is not None:
            return name, functools.partial(method, task_instance)
    method = _method(operator, ON_START)
    assert method is not None  # has_lineage_methods holds
    return ON_START, method


def report(
    operator: Any, task_instance: Any, failed: bool, log: Callable[[str], None]
) -> Optional[OpenLineageReport]:
    """The lineage of the task's last event, or ``None`` when the operator has no OpenLineage
    methods (a native run then has no operator lineage either)."""
    if operator is None or not has_lineage_methods(operator):
        return None
    try:
        _use_provider_producer()
        name, call = _final_call(operator, task_instance, failed)
        returned = call()
        if returned is None:
            return OpenLineageReport()
        facets = OpenLineageFacets(
            method=name,
            inputs=_datasets(getattr(returned, "inputs", None)),
            outputs=_datasets(getattr(returned, "outputs", None)),
            run_facets=_facets(getattr(returned, "run_facets", None)),
            job_facets=_facets(getattr(returned, "job_facets", None)),
        )
        _check_sendable(OpenLineageReport(lineage=facets))
    except ImportError as exc:
        log(f"OpenLineage: {type(operator).__name__} could not import its OpenLineage integration: {exc}")
        return OpenLineageReport()
    except Exception as exc:
        what = f"{type(exc).__name__}: {exc}"
        log(f"OpenLineage: {type(operator).__name__} failed to extract its lineage: {what}")
        return OpenLineageReport()
    return OpenLineageReport(lineage=facets)


class OpenLineageFacet(TargetFacet):
    """The lineage of the task's last event, when the host's listener asks for it (natively only
    the listener calls these methods, which may parse SQL or call a database's API); the task
    instance shows the state it has natively when the provider asks."""

    facet: ClassVar[Facet] = BY_NAME["openlineage"]

    def __init__(self, run: TaskRun) -> None:
        super().__init__(run)
        self.operator: Any = None
        self.task_instance: Any = None

    def install(self) -> None:
        self.operator, self.task_instance = self.run.operator, self.run.context["ti"]

    def collect(self, outcome: Outcome) -> Dict[str, Any]:
        if not self.run.request.options.openlineage or self.operator is None:
            return {"openlineage": None}
        if self.task_instance is not None:
            self.task_instance.state = outcome.state
        lineage = report(self.operator, self.task_instance, outcome.state == "failed", self.run.log)
        return {"openlineage": lineage}


def _use_provider_producer() -> None:
    """Natively the provider's listener has imported its adapter, which makes the provider the
    producer of every facet created after (``set_producer``): do the same when the target has it."""
    import importlib
    from importlib import util

    adapter = "airflow.providers.openlineage.plugins.adapter"
    try:
        if util.find_spec("airflow.providers.openlineage") is not None:
            importlib.import_module(adapter)
    except Exception:  # an unusable provider leaves the client's default producer
        return


def _check_sendable(lineage: OpenLineageReport) -> None:
    """A value neither carrier can hold (an int past 64 bits) must cost the lineage, not the task's
    result."""
    probe = IsolationResult(schema=SCHEMA_VERSION, status="success", openlineage=lineage)
    encode(probe)
    encode_json(probe)


def _datasets(values: Any) -> List[Dict[str, Any]]:
    return [d for d in (as_json(v) for v in values or ()) if isinstance(d, dict)]


def _facets(values: Any) -> Dict[str, Dict[str, Any]]:
    converted = {str(k): as_json(v) for k, v in dict(values or {}).items()}
    return {k: v for k, v in converted.items() if isinstance(v, dict)}


def as_json(value: Any) -> Any:
    """``Serde.to_dict`` of the OpenLineage client, then ``json.dumps`` as its ``to_json`` calls it:
    attrs classes become objects of all their fields (``attrs.asdict``), ``None`` values are left
    out, enums become their values, dates ISO strings, UUIDs strings, and anything else JSON cannot
    hold the placeholder the client writes for it."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return as_json(value.value)
    if isinstance(value, (int, float)):
        return value
    if type(value).__name__ == "int64":  # numpy, as Serde
        return int(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    fields = getattr(type(value), "__attrs_attrs__", None)
    if fields is not None:
        value = {field.name: getattr(value, field.name) for field in fields}
    if isinstance(value, dict):
        pairs = ((_key(k), as_json(v)) for k, v in value.items())
        return {k: v for k, v in pairs if v is not None}
    if isinstance(value, (list, tuple)):
        items = (as_json(v) for v in value if v is not None)
        return [v for v in items if v is not None and v != {}]
    return f"<<non-serializable: {type(value).__qualname__}>>"


def _key(key: Any) -> str:
    """JSON objects have string keys; ``json.dumps`` writes the numbers it accepts as keys as text."""
    return key if isinstance(key, str) else str(key)
