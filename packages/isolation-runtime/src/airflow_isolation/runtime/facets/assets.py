"""The task's assets in the target: the events it reads, shipped by the host, and the events it
emits, recorded for the host.

Reads (``inlet_events``, ``triggering_asset_events``; Airflow 2: ``triggering_dataset_events``) are
mappings over what the host shipped, with the keys and attributes the target's Airflow gives them
natively: a key may be the target's own ``Asset``/``Dataset``, alias, asset reference or (Airflow 2)
URI, matched to a shipped asset by URI or name (``AssetSpec.matches``), so an asset declared on an
Airflow 3 host is found by an Airflow 2 task and the other way round.

Writes go to the target Airflow's own ``OutletEventAccessors``, so ``outlet_events[...].extra``,
``.add(...)`` on an alias and ``yield Metadata(...)`` behave as natively; what they recorded is
lowered into ``OutletEvent`` records that the host replays into its own accessors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from airflow_isolation.core import (
    AliasEvent,
    AssetEvent,
    AssetSpec,
    IsolationRequest,
    OutletEvent,
    TaskContext,
)
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.runtime.facets.base import TargetFacet
from airflow_isolation.runtime.task import airflow_compat
from airflow_isolation.runtime.task.airflow_compat import AirflowInfo
from airflow_isolation.runtime.task.context import as_pendulum

if TYPE_CHECKING:
    from airflow_isolation.runtime.task.outcome import Outcome


class ShippedAsset:
    """An asset for a target without Airflow, which has no ``Asset`` class."""

    def __init__(self, spec: AssetSpec):
        self.name = spec.name
        self.uri = spec.uri or None
        self.group = spec.group
        self.extra = dict(spec.extra)

    def __repr__(self) -> str:
        return f"ShippedAsset(name={self.name!r}, uri={self.uri!r})"


class ShippedAssetAlias(ShippedAsset):
    """An alias for a target without Airflow, or an Airflow before 2.10, which has no aliases; named
    so that ``AssetSpec.matches`` tells it from an asset, as it does Airflow's own."""


def shipped(spec: AssetSpec) -> ShippedAsset:
    return ShippedAssetAlias(spec) if spec.alias else ShippedAsset(spec)


class AliasName:
    """One of ``event.source_aliases``: natively an object whose ``name`` is the alias's."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"AliasName({self.name!r})"


def target_asset(info: Optional[AirflowInfo], spec: AssetSpec) -> Any:
    """The target Airflow's own object for ``spec`` (Airflow 3: ``Asset``/``AssetAlias``; Airflow 2:
    ``Dataset``/``DatasetAlias``)."""
    if info is None:
        return shipped(spec)
    asset_class, alias_class = airflow_compat.asset_classes(info)
    if spec.alias:
        return shipped(spec) if alias_class is None else alias_class(name=spec.name)
    if info.major >= 3:
        options: Dict[str, Any] = {"extra": dict(spec.extra)}
        if spec.group:
            options["group"] = spec.group
        return asset_class(name=spec.name, uri=spec.uri or spec.name, **options)
    return asset_class(uri=spec.uri or spec.name, extra=dict(spec.extra) or None)


class ShippedAssetEvent:
    """An asset event with the attributes a task reads natively (Airflow 3 ``AssetEventResult`` and
    ``AssetEventDagRunReferenceResult``, Airflow 2 ``DatasetEvent``): ``extra``, ``timestamp``,
    ``source_dag_id``, ``source_task_id``, ``source_run_id``, ``source_map_index``,
    ``source_aliases``, ``partition_key``, and its asset as ``asset`` (Airflow 2: ``dataset``)."""

    def __init__(self, event: AssetEvent, asset: Any):
        self.asset = asset
        self.dataset = asset
        self.extra: Dict[str, Any] = dict(event.extra)
        self.timestamp = as_pendulum(event.timestamp)
        self.source_dag_id = event.source_dag_id
        self.source_task_id = event.source_task_id
        self.source_run_id = event.source_run_id
        self.source_map_index = event.source_map_index
        self.source_aliases = [AliasName(name) for name in event.source_aliases]
        self.partition_key = event.partition_key

    def __repr__(self) -> str:
        return f"ShippedAssetEvent(asset={self.asset!r}, extra={self.extra!r}, timestamp={self.timestamp!r})"


Group = Tuple[AssetSpec, Any, List[ShippedAssetEvent]]
"""A key of a mapping: the shipped asset, the target's own object for it, and its events."""


class ShippedEventsMapping(Mapping[Any, List[ShippedAssetEvent]]):
    """Events by asset (or alias), looked up with any key that one ``AssetSpec.matches``."""

    def __init__(self, groups: List[Group], iter_keys: Sequence[Any], missing: str):
        self._groups = groups
        self._iter_keys = list(iter_keys)
        self._missing = missing

    def _group(self, key: Any) -> Optional[Group]:
        return next((group for group in self._groups if group[0].matches(key)), None)

    def __getitem__(self, key: Any) -> List[ShippedAssetEvent]:
        group = self._group(key)
        if group is None:
            raise KeyError(f"{key!r}: {self._missing}")
        return group[2]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._iter_keys)

    def __len__(self) -> int:
        return len(self._iter_keys)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({ {repr(g[1]): g[2] for g in self._groups} })"


class ShippedInletEvents(ShippedEventsMapping):
    """``context["inlet_events"]``: an inlet (or its index in ``inlets``) → its latest events,
    oldest first, as many as the host shipped."""

    def __getitem__(self, key: Any) -> List[ShippedAssetEvent]:
        if isinstance(key, int):
            return self._groups[key][2]
        return super().__getitem__(key)


class ShippedTriggeringEvents(ShippedEventsMapping):
    """``triggering_asset_events`` (Airflow 3, keyed by asset and alias) or
    ``triggering_dataset_events`` (Airflow 2, keyed by URI, a missing one gives ``[]``)."""

    def __init__(self, groups: List[Group], iter_keys: Sequence[Any], missing: str, default_empty: bool):
        super().__init__(groups, iter_keys, missing)
        self._default_empty = default_empty

    def __getitem__(self, key: Any) -> List[ShippedAssetEvent]:
        if self._default_empty and self._group(key) is None:
            return []
        return super().__getitem__(key)


def _inlet_events(info: Optional[AirflowInfo], ctx: TaskContext) -> ShippedInletEvents:
    groups: List[Group] = []
    for shipped in ctx.inlet_events:
        obj = target_asset(info, shipped.inlet)
        events = [ShippedAssetEvent(e, target_asset(info, e.asset)) for e in shipped.events]
        groups.append((shipped.inlet, obj, events))
    return ShippedInletEvents(
        groups,
        [group[1] for group in groups],
        "not an inlet of this task: only the inlets' events are shipped to an isolated task; add it to "
        "inlets=[...] of the IsolatedOperator",
    )


def _triggering_events(info: Optional[AirflowInfo], events: List[AssetEvent]) -> ShippedTriggeringEvents:
    airflow2 = info is not None and info.major < 3
    groups: Dict[Tuple[bool, str, str], Group] = {}

    def add(spec: AssetSpec, event: ShippedAssetEvent) -> None:
        key = (spec.alias, spec.name, spec.uri)
        if key not in groups:
            groups[key] = (spec, target_asset(info, spec), [])
        groups[key][2].append(event)

    for event in events:
        shipped = ShippedAssetEvent(event, target_asset(info, event.asset))
        add(event.asset, shipped)
        if not airflow2:
            for alias in event.source_aliases:
                add(AssetSpec(name=alias, alias=True), shipped)
    ordered = list(groups.values())
    keys = [g[0].uri or g[0].name for g in ordered] if airflow2 else [g[1] for g in ordered]
    return ShippedTriggeringEvents(ordered, keys, "no event of it triggered this run", default_empty=airflow2)


def triggering_key(info: Optional[AirflowInfo]) -> str:
    return "triggering_dataset_events" if info is not None and info.major < 3 else "triggering_asset_events"


def context_entries(info: Optional[AirflowInfo], ctx: TaskContext) -> Dict[str, Any]:
    """The context keys of the task's assets, under this Airflow's names."""
    entries: Dict[str, Any] = {
        "inlets": [target_asset(info, spec) for spec in ctx.inlets],
        "outlets": [target_asset(info, spec) for spec in ctx.outlets],
        "inlet_events": _inlet_events(info, ctx),
        triggering_key(info): _triggering_events(info, ctx.triggering_asset_events),
    }
    accessors = None if info is None else airflow_compat.outlet_event_accessors(info)
    if accessors is not None:
        entries["outlet_events"] = accessors
    return entries


def recorded(info: Optional[AirflowInfo], context: Mapping[str, Any]) -> List[OutletEvent]:
    """What the task recorded in ``context["outlet_events"]``, every accessor it touched, as the
    task runner of its Airflow reports them (the host's Airflow then keeps what applies)."""
    accessors = context.get("outlet_events")
    if info is None or accessors is None:
        return []
    if info.major >= 3:
        return [_airflow3_event(key, accessor) for key, accessor in accessors._dict.items()]
    return [_airflow2_event(accessor) for accessor in accessors._dict.values()]


def _airflow3_event(key: Any, accessor: Any) -> OutletEvent:
    uri = getattr(key, "uri", None)
    spec = AssetSpec(name=key.name, alias=True) if uri is None else AssetSpec(name=key.name, uri=uri)
    alias_events = [
        AliasEvent(
            AssetSpec(
                name=event.dest_asset_key.name,
                uri=event.dest_asset_key.uri,
                extra=dict(event.dest_asset_extra or {}),
            ),
            dict(event.extra or {}),
        )
        for event in accessor.asset_alias_events
    ]
    partitions = sorted(getattr(accessor, "partition_keys", None) or ())
    return OutletEvent(spec, dict(accessor.extra), alias_events, partitions)


def _airflow2_event(accessor: Any) -> OutletEvent:
    """Airflow 2 keys by the object given or a string: ``yield Metadata`` uses the dataset's URI,
    and an alias's name when it adds through one; an accessor with alias events is an alias."""
    raw = accessor.raw_key
    alias_events = [
        AliasEvent(AssetSpec(name=uri, uri=uri), dict(e.get("extra") or {}))
        for e in accessor.dataset_alias_events
        for uri in [e["dest_dataset_uri"]]
    ]
    if isinstance(raw, str):
        spec = AssetSpec(name=raw, alias=True) if alias_events else AssetSpec(name=raw, uri=raw)
    elif "Alias" in type(raw).__name__:
        spec = AssetSpec(name=raw.name, alias=True)
    else:
        spec = AssetSpec(name=raw.uri, uri=raw.uri)
    return OutletEvent(spec, dict(accessor.extra), alias_events)


class AssetsFacet(TargetFacet):
    facet: ClassVar[Facet] = BY_NAME["assets"]

    @classmethod
    def needs_airflow(cls, request: IsolationRequest) -> bool:
        """A task with outlets writes into the target Airflow's own ``outlet_events`` accessors."""
        return bool(request.context.outlets)

    def install(self) -> None:
        self.run.context.update(context_entries(self.run.airflow, self.run.request.context))

    def collect(self, outcome: Outcome) -> Dict[str, Any]:
        return {"outlet_events": recorded(self.run.airflow, self.run.context)} if outcome.succeeded else {}
