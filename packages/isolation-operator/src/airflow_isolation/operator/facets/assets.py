"""The task's assets across the boundary: what the target reads, and what it emits.

Reads: the host ships the task's inlets and outlets, the latest events of each inlet and the events
that triggered the run, from its own context (Airflow 3: the API server; Airflow 2: the database),
since the target has neither.

Writes: the host's own Airflow registers a task's asset events from its context's
``outlet_events`` and its ``outlets`` when the task succeeds. The wrapper's ``outlets`` are the
task's (``outlets=[...]`` is a ``BaseOperator`` argument, kept on the host), and what the target
recorded under ``outlet_events`` is recorded here in the host's accessors, so the events carry the
same extras (and alias events, partition keys) as the same task run natively.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Dict, Iterable, List, Mapping, Optional

from airflow_isolation.core import (
    AssetEvent,
    AssetSpec,
    InletEvents,
    IsolationRequest,
    IsolationResult,
    OutletEvent,
)
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator.facets.base import Fields, HostFacet, HostTask

log = logging.getLogger(__name__)

INLET_EVENTS_LIMIT = 100
"""How many events of each inlet are shipped, the latest ones, oldest first: ``inlet_events[asset]``
natively reads every event of the asset, which grows without bound; a task reads the latest
(``[-1]``) far more often than its whole history."""


def _is_alias(obj: Any) -> bool:
    return "Alias" in type(obj).__name__


def asset_spec(obj: Any) -> Optional[AssetSpec]:
    """An ``Asset``/``Dataset``, alias or asset reference of the host as a wire spec; ``None`` for
    other lineage objects (Airflow also accepts files and tables as inlets)."""
    name = getattr(obj, "name", None)
    uri = getattr(obj, "uri", None)
    if _is_alias(obj) and isinstance(name, str):
        return AssetSpec(name=name, alias=True, group=str(getattr(obj, "group", "") or ""))
    if not isinstance(uri, str) and not isinstance(name, str):
        return None
    return AssetSpec(
        name=name if isinstance(name, str) else uri,  # type: ignore[arg-type]
        uri=uri if isinstance(uri, str) else "",
        group=str(getattr(obj, "group", "") or ""),
        extra=dict(getattr(obj, "extra", None) or {}),
    )


def specs(objects: Iterable[Any]) -> List[AssetSpec]:
    return [spec for spec in map(asset_spec, objects or ()) if spec is not None]


def event_spec(event: Any) -> AssetEvent:
    """One event as either Airflow hands it out (3.x: ``AssetEventResult`` or
    ``AssetEventDagRunReferenceResult``; 2.x: the ``DatasetEvent`` row)."""
    asset = getattr(event, "asset", None) or getattr(event, "dataset", None)
    spec = asset_spec(asset) or AssetSpec(name=str(getattr(event, "dataset_id", "")))
    map_index = getattr(event, "source_map_index", None)
    return AssetEvent(
        asset=spec,
        extra=dict(getattr(event, "extra", None) or {}),
        timestamp=getattr(event, "timestamp", None),
        source_dag_id=getattr(event, "source_dag_id", None),
        source_task_id=getattr(event, "source_task_id", None),
        source_run_id=getattr(event, "source_run_id", None),
        source_map_index=-1 if map_index is None else int(map_index),
        source_aliases=[str(alias.name) for alias in getattr(event, "source_aliases", None) or ()],
        partition_key=getattr(event, "partition_key", None),
    )


def _latest(accessor: Any) -> List[Any]:
    """The latest ``INLET_EVENTS_LIMIT`` events, oldest first: Airflow 3's accessor asks the API
    server for them newest first; Airflow 2's lazy sequence turns ``[-n:]`` into one query."""
    if callable(getattr(accessor, "limit", None)) and callable(getattr(accessor, "ascending", None)):
        return list(reversed(list(accessor.ascending(False).limit(INLET_EVENTS_LIMIT))))
    return list(accessor[-INLET_EVENTS_LIMIT:])


def inlet_events(context: Mapping[str, Any], inlets: Iterable[Any]) -> List[InletEvents]:
    """Events of each inlet that is an asset or alias. One the host cannot read is shipped without
    events (and logged): reading it is the task's business, as natively, where it fails lazily."""
    accessors = context.get("inlet_events")
    shipped: List[InletEvents] = []
    for inlet in inlets or ():
        spec = asset_spec(inlet)
        if spec is None:
            continue
        events: List[AssetEvent] = []
        if accessors is not None:
            try:
                events = [event_spec(event) for event in _latest(accessors[inlet])]
            except Exception:
                log.warning("Cannot read the events of inlet %r to ship them", inlet, exc_info=True)
        shipped.append(InletEvents(spec, events))
    return shipped


def triggering_events(context: Mapping[str, Any]) -> List[AssetEvent]:
    """Every event that triggered the run, once (3.x lists each also under its aliases).

    Airflow 2 reads them from the database only when asked, and a run that no dataset triggered
    has none: it is not asked then (under ``airflow dags test`` the question itself fails). One the
    host cannot read is left out and logged: natively the task fails only if it reads them.
    """
    try:
        if airflow_compat.AIRFLOW_MAJOR >= 3:
            accessor = context.get("triggering_asset_events")
            if not accessor:
                return []
            return [event_spec(e) for key in list(accessor) if not _is_alias(key) for e in accessor[key]]
        run_type = getattr(context.get("dag_run"), "run_type", None)
        if str(getattr(run_type, "value", run_type)) != "dataset_triggered":
            return []
        by_uri = context.get("triggering_dataset_events")
        return [event_spec(event) for events in dict(by_uri or {}).values() for event in events]
    except Exception:
        log.warning("Cannot read the events that triggered this run to ship them", exc_info=True)
        return []


def host_asset(spec: AssetSpec, outlets: Iterable[Any] = ()) -> Any:
    """The host's own object for ``spec``: the task's outlet with that URI or name when there is one
    (a dataset of an Airflow 2 target is an asset here, and the other way round), else a new one."""
    for outlet in outlets or ():
        if spec.matches(outlet):
            return outlet
    if spec.alias:
        return airflow_compat.new_asset_alias(spec.name)
    return airflow_compat.new_asset(spec.name, spec.uri, spec.extra, spec.group)


def apply_outlet_events(operator: Any, context: Dict[str, Any], events: List[OutletEvent]) -> None:
    """Record the target's outlet events in the host's ``outlet_events``, as the task would have."""
    accessors = context.get("outlet_events")
    if accessors is None or not events:
        return
    outlets = list(getattr(operator, "outlets", None) or ())
    for event in events:
        accessor = accessors[host_asset(event.key, outlets)]
        accessor.extra.update(event.extra)
        for alias_event in event.alias_events:
            accessor.add(host_asset(alias_event.asset), extra=dict(alias_event.extra))
        if event.partition_keys:
            add_partitions = getattr(accessor, "add_partitions", None)
            if add_partitions is None:
                log.warning(
                    "The isolated task recorded partition keys %s for %r, which this Airflow %s cannot "
                    "record; its asset event is emitted without them",
                    event.partition_keys,
                    event.key.name,
                    airflow_compat.AIRFLOW_VERSION,
                )
            else:
                add_partitions(list(event.partition_keys))


class Assets(HostFacet):
    facet: ClassVar[Facet] = BY_NAME["assets"]

    def needed(self, task: HostTask, request: IsolationRequest) -> bool:
        """A task with asset inlets or outlets, or a run that assets triggered: ``outlet_events``
        and what the task reads exist only through them."""
        shipped = request.context
        return bool(shipped.inlets or shipped.outlets or shipped.triggering_asset_events)

    def context_fields(self, task: HostTask) -> Fields:
        operator = task.context.get("task")
        inlets = list(getattr(operator, "inlets", None) or ())
        return {
            "inlets": specs(inlets),
            "outlets": specs(getattr(operator, "outlets", None) or ()),
            "inlet_events": inlet_events(task.context, inlets),
            "triggering_asset_events": triggering_events(task.context),
        }

    def succeeded(self, operator: Any, context: Dict[str, Any], result: IsolationResult) -> None:
        """Recorded in the host's context after success, where its task runner emits them as a
        native task's."""
        apply_outlet_events(operator, context, result.outlet_events)
