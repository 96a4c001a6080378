"""The wire schema: what the host sends to the target and what comes back.

Every Struct leaves ``forbid_unknown_fields`` off so that a runtime can read a request written by a
newer host of the same major version (new optional fields are simply ignored), and every new field
must have a default for the same reason. ``Any``-typed values (kwargs, params, return values) go
through :mod:`airflow_isolation.core.values`, which turns types msgpack/JSON cannot carry
faithfully into explicit extension types.

Annotations use ``typing.Optional``/``List``/``Dict`` because targets may run Python 3.9, where
msgspec cannot evaluate ``X | Y``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Literal, Optional, Union

import msgspec


class SchemaVersion(msgspec.Struct, frozen=True, array_like=True):
    """Major changes are breaking; minor changes only add optional fields."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @classmethod
    def parse(cls, text: str) -> Optional[SchemaVersion]:
        """``"1.4"`` (as ``str`` writes it, and build manifests record it) as a version; ``None`` for
        ``""`` (a build recorded before manifests said) or anything else."""
        major, dot, minor = text.strip().partition(".")
        if not (dot and major.isdigit() and minor.isdigit()):
            return None
        return cls(int(major), int(minor))


SCHEMA_VERSION = SchemaVersion(1, 5)
"""1.1 added ``IsolationRequest.nonce``, ``RunOptions.xcom_write_back``/``variable_write_back`` and
``IsolationResult.variable_writes``. 1.2 added the task's downstream ids, its first reschedule date
and the run's ``run_after`` to ``TaskContext``, and ``skip_downstream``/``reschedule_date`` to
``IsolationResult``. 1.3 added ``IsolationRequest.modules``: the task's own modules, shipped from the
host's DAGs and plugins folders. 1.4 added ``RunOptions.openlineage`` and
``IsolationResult.openlineage``: the wrapped operator's OpenLineage lineage, computed in the target
when the host's OpenLineage listener will ask for it; and the task's assets:
``TaskContext.inlets``/``outlets``, ``inlet_events`` and ``triggering_asset_events`` (what the task
reads), and ``IsolationResult.outlet_events`` (what it emits, applied by the host). 1.5 added
``IsolationRequest.resumption`` (the wrapped operator resumes after a deferral the host's Airflow
ran), ``IsolationResult.dag_run_trigger`` (a dag run the task asks the host's Airflow to
trigger, as ``TriggerDagRunOperator`` asks Airflow 3's task runner) and ``RunOptions.host_channel``
(the task may ask the host's Airflow what a native task asks its own at run time)."""


class CallableSpec(msgspec.Struct, tag="callable"):
    """A Python callable shipped to the target.

    One of ``source`` (the function's source, as Airflow's virtualenv decorator ships it) or
    ``import_path`` (``"package.module:function"`` importable in the target) is set.
    ``args``/``kwargs`` are used when the callable *is* the task (``@task.isolated``); a callable
    passed as an operator kwarg (``python_callable``) has none.

    Reserved fields (kept so requests of schema 1.x keep decoding; ignored; removed in 2.0):
    ``pickled`` was meant for cloudpickle bytes, but no host option produces them, and unpickling
    ties the target to the host's Python and library versions, which isolation exists to decouple.
    The runtime refuses a callable that sets it, naming ``source`` and ``import_path`` as the fix.
    ``multiple_outputs`` is never read by the target: ``@task.isolated(multiple_outputs=...)`` is
    applied on the host by Airflow's decorator, which splits the returned dict into XComs there.
    """

    name: str
    source: Optional[str] = None
    import_path: Optional[str] = None
    pickled: Optional[bytes] = None
    args: List[Any] = []
    kwargs: Dict[str, Any] = {}
    multiple_outputs: bool = False


class OperatorSpec(msgspec.Struct, tag="operator"):
    """An Airflow operator to instantiate and run in the target.

    ``kwargs`` hold the constructor arguments with every template field already rendered on the
    host, so the target never renders again.

    Reserved fields (kept so requests of schema 1.x keep decoding; ignored; removed in 2.0):
    ``template_fields_rendered`` is always true, since the host always renders (it alone has the
    DAG's Jinja environment, macros and template files); no target reads it.
    """

    class_path: str
    kwargs: Dict[str, Any] = {}
    template_fields_rendered: bool = True


TaskSpec = Union[OperatorSpec, CallableSpec]


class ConnectionSpec(msgspec.Struct):
    """An Airflow connection resolved on the host from its secrets backends."""

    conn_id: str
    conn_type: Optional[str] = None
    description: Optional[str] = None
    host: Optional[str] = None
    login: Optional[str] = None
    password: Optional[str] = None
    schema: Optional[str] = None
    port: Optional[int] = None
    extra: Optional[str] = None


class AssetSpec(msgspec.Struct):
    """An asset (Airflow 2: a dataset) or an asset alias, spelt so Airflow 2 and 3 both rebuild it.

    A dataset has only a URI: its ``name`` is the URI, as Airflow 3 names an ``Asset(uri)``. An alias
    (``alias=True``) has only a name.
    """

    name: str
    uri: str = ""
    alias: bool = False
    group: str = ""
    extra: Dict[str, Any] = {}

    def matches(self, key: Any) -> bool:
        """Whether ``key`` (either Airflow's asset, dataset, alias or asset reference, or a URI string
        as Airflow 2 keys datasets) names this asset: the same URI or the same name, which Airflow 3
        keeps unique both, so that a dataset of an Airflow 2 side finds an asset of an Airflow 3 side."""
        if isinstance(key, str):
            return not self.alias and key in (self.uri, self.name)
        if ("Alias" in type(key).__name__) != self.alias:
            return False
        name = getattr(key, "name", None)
        if self.alias:
            return bool(name == self.name)
        uri = getattr(key, "uri", None)
        return bool(uri and uri == self.uri) or bool(name and name == self.name)


class AssetEvent(msgspec.Struct):
    """An asset event the task reads (an inlet's or a triggering one), as the host's Airflow had it."""

    asset: AssetSpec
    extra: Dict[str, Any] = {}
    timestamp: Optional[dt.datetime] = None
    source_dag_id: Optional[str] = None
    source_task_id: Optional[str] = None
    source_run_id: Optional[str] = None
    source_map_index: int = -1
    source_aliases: List[str] = []
    partition_key: Optional[str] = None


class InletEvents(msgspec.Struct):
    """The latest events of one inlet, oldest first (the host bounds how many; see the operator)."""

    inlet: AssetSpec
    events: List[AssetEvent] = []


class AliasEvent(msgspec.Struct):
    """``outlet_events[alias].add(asset, extra)``: an event of ``asset`` emitted through the alias."""

    asset: AssetSpec
    extra: Dict[str, Any] = {}


class OutletEvent(msgspec.Struct):
    """What the task recorded under ``outlet_events[key]``: the host records the same under its own."""

    key: AssetSpec
    extra: Dict[str, Any] = {}
    alias_events: List[AliasEvent] = []
    partition_keys: List[str] = []


class TaskContext(msgspec.Struct):
    """The parts of the Airflow context that make sense in another process.

    Date strings (``ds``, ``ts``…) are computed on the host so both sides agree to the character;
    ``upstream_xcoms`` carries the return values of direct upstream tasks so that
    ``ti.xcom_pull(task_ids=...)`` works in the target without a database.

    Reserved fields (kept so requests of schema 1.x keep decoding; ignored; removed in 2.0):
    ``host_airflow_version`` is neither written nor read: what a target can run depends on its own
    Airflow, which it reports back in ``IsolationResult.target_airflow_version``.
    """

    dag_id: str
    task_id: str
    run_id: str
    try_number: int = 1
    max_tries: int = 0
    map_index: int = -1
    logical_date: Optional[dt.datetime] = None
    data_interval_start: Optional[dt.datetime] = None
    data_interval_end: Optional[dt.datetime] = None
    start_date: Optional[dt.datetime] = None
    ds: Optional[str] = None
    ds_nodash: Optional[str] = None
    ts: Optional[str] = None
    ts_nodash: Optional[str] = None
    ts_nodash_with_tz: Optional[str] = None
    run_type: Optional[str] = None
    params: Dict[str, Any] = {}
    dag_run_conf: Dict[str, Any] = {}
    upstream_xcoms: Dict[str, Any] = {}
    host_airflow_version: Optional[str] = None
    downstream_task_ids: List[str] = []
    """Direct downstream tasks: a rebuilt operator has no DAG, yet ``ShortCircuitOperator`` and
    ``SkipMixin.skip`` decide what to skip from its relatives."""
    flat_downstream_task_ids: List[str] = []
    """Every task downstream, however far (``get_flat_relatives``)."""
    downstream_teardown_ids: List[str] = []
    """Which of those are teardown tasks, which a short circuit never skips."""
    first_reschedule_date: Optional[dt.datetime] = None
    """When a sensor in reschedule mode first poked (from the host's task reschedules), so its
    ``timeout`` counts from there as natively."""
    run_after: Optional[dt.datetime] = None
    """The dag run's ``run_after`` (Airflow 3), which sensors without a data interval count from."""
    inlets: List[AssetSpec] = []
    """The task's inlets that are assets or aliases (``context["inlets"]``, ``inlet_events[0]``)."""
    outlets: List[AssetSpec] = []
    """The task's outlets that are assets or aliases (``context["outlets"]``)."""
    inlet_events: List[InletEvents] = []
    """For each inlet, its latest events (``context["inlet_events"][asset]``)."""
    triggering_asset_events: List[AssetEvent] = []
    """The events that triggered the run (``triggering_asset_events``; Airflow 2:
    ``triggering_dataset_events``)."""


class RunOptions(msgspec.Struct, frozen=True):
    """How the target should behave; every field has the default a plain run needs.

    Reserved fields (kept so requests of schema 1.x keep decoding; ignored; removed in 2.0):
    ``log_level`` has no host option that sets it and no reader. The runtime's own lines are few
    and always wanted (they explain a failure), and the task's own logging is left as the target's
    Python and Airflow set it up.
    """

    skip_exit_code: int = 99
    log_level: str = "INFO"
    xcom_write_back: bool = True
    """``ti.xcom_push`` is recorded and replayed on the host when the task ends, failed or not (Airflow
    keeps what a failing task pushed); off, it is refused."""
    variable_write_back: bool = False
    """``Variable.set`` is recorded and applied on the host after success; off (the default), it is
    refused with an error naming this option, since the target has no metadata database."""
    host_channel: bool = False
    """The host opened a channel back to itself for this task (``core.channel``): what the task asks
    its Airflow at run time (task and dag run states, XComs of any task, variables and connections
    that were not shipped) is answered by the host's Airflow, as for a native task."""
    openlineage: bool = False
    """The host's OpenLineage listener will ask for the operator's lineage: compute it as the task
    ends (``IsolationResult.openlineage``). Off, the target calls no OpenLineage method, as a native
    task runs none without the listener (they may parse SQL or call the database's API)."""


class ShippedModule(msgspec.Struct, frozen=True):
    """A module of the user's own code (an operator or helper kept next to the DAGs), which the target
    cannot install from a package index.

    ``path`` is relative to the folder it was found under (``my_ops.py``, ``helpers/__init__.py``),
    POSIX-separated, so that the target recreates the same import names; ``root`` says which folder
    of the host that was (``dags``, ``plugins`` or ``dag_file``), for error messages.
    """

    path: str
    source: bytes
    root: str = "dags"


class Resumption(msgspec.Struct):
    """The wrapped operator's method the host's Airflow resumes the task with after a deferral the
    host ran itself (``TriggerDagRunOperator``'s wait), and that method's keyword arguments (the
    trigger's ``event`` among them); the target calls it instead of ``execute``."""

    method: str
    kwargs: Dict[str, Any] = {}


class IsolationRequest(msgspec.Struct):
    schema: SchemaVersion
    task: TaskSpec
    context: TaskContext
    connections: List[ConnectionSpec] = []
    variables: Dict[str, str] = {}
    secrets_to_mask: List[str] = []
    options: RunOptions = RunOptions()
    nonce: bytes = b""
    """Random bytes per run. The host sends the request's SHA-256 through a channel the file's
    transport cannot alter (see ``integrity``); the nonce keeps that digest from being a way to
    test guesses of the secrets inside."""
    modules: List[ShippedModule] = []
    """Python files the task imports from the host's DAGs or plugins folders; the target puts them
    first on ``sys.path`` before importing the operator or loading the callable."""
    resumption: Optional[Resumption] = None


class XComPush(msgspec.Struct, array_like=True):
    key: str
    value: Any


class VariableWrite(msgspec.Struct, array_like=True):
    """A ``Variable.set`` made in the target, applied on the host only after the task succeeds."""

    key: str
    value: str
    description: Optional[str] = None


class ErrorInfo(msgspec.Struct):
    """An exception raised in the target, kept as text: its class may not exist on the host."""

    type: str
    message: str
    traceback: str


class Timings(msgspec.Struct, frozen=True):
    """Seconds spent in each phase of the target, for overhead reports."""

    decode: float = 0.0
    setup: float = 0.0
    execute: float = 0.0
    total: float = 0.0


class OpenLineageFacets(msgspec.Struct):
    """What an operator's OpenLineage method returned (the provider's ``OperatorLineage``), as the
    OpenLineage client serialises it (``Serde.to_dict``): datasets and facets are plain JSON objects
    with every field, ``_producer`` and ``_schemaURL`` included, so a facet class the host does not
    have still reaches the event unchanged."""

    method: str
    """Which method produced it (``get_openlineage_facets_on_complete``, ``..._on_failure`` or
    ``..._on_start``), chosen as the provider's ``DefaultExtractor`` chooses at the task's end."""
    inputs: List[Dict[str, Any]] = []
    """``{"namespace", "name", "facets", "inputFacets"}`` objects (``inputFacets`` only when the
    operator returned ``InputDataset``s, ``outputFacets`` likewise)."""
    outputs: List[Dict[str, Any]] = []
    run_facets: Dict[str, Dict[str, Any]] = {}
    job_facets: Dict[str, Dict[str, Any]] = {}


class OpenLineageReport(msgspec.Struct):
    """Sent when the wrapped operator has OpenLineage methods (``get_openlineage_facets_on_start``
    or ``..._on_complete``), which is what makes the provider use its ``DefaultExtractor``."""

    lineage: Optional[OpenLineageFacets] = None
    """``None`` when the method returned ``None`` or raised (the target logs why); the provider then
    reports no operator lineage either."""


class DagRunTrigger(msgspec.Struct):
    """A dag run the task asks Airflow to trigger: what Airflow 3's ``DagRunTriggerException``
    tells its task runner, which creates the run and waits for it (polling, or deferred to the
    triggerer) as the operator asked. Only the host's Airflow can create a run, so the target sends
    this and the host raises the same signal to its own task runner."""

    trigger_dag_id: str
    dag_run_id: str
    conf: Optional[Dict[str, Any]] = None
    logical_date: Optional[dt.datetime] = None
    run_after_date: Optional[dt.datetime] = None
    """The exception's ``run_after``."""
    reset_dag_run: bool = False
    skip_when_already_exists: bool = False
    wait_for_completion: bool = False
    allowed_states: List[str] = []
    failed_states: List[str] = []
    poke_interval: float = 60.0
    deferrable: bool = False
    note: Optional[str] = None


Status = Literal["success", "skipped", "failed"]


class IsolationResult(msgspec.Struct):
    schema: SchemaVersion
    status: Status
    return_value: Any = None
    xcom_pushes: List[XComPush] = []
    branch: Optional[List[str]] = None
    error: Optional[ErrorInfo] = None
    timings: Timings = Timings()
    target_airflow_version: Optional[str] = None
    target_python_version: Optional[str] = None
    variable_writes: List[VariableWrite] = []
    skip_downstream: Optional[List[str]] = None
    """Downstream task ids the task skipped (``SkipMixin.skip``, ``DownstreamTasksSkipped``); the
    host skips them with its own Airflow."""
    reschedule_date: Optional[dt.datetime] = None
    """Set with a failed status whose error is ``AirflowRescheduleException``: the host reschedules
    the task at this date (an older host sees a failure)."""
    openlineage: Optional[OpenLineageReport] = None
    """The wrapped operator's OpenLineage lineage for the task's COMPLETE or FAIL event; ``None`` for a
    callable, or an operator without OpenLineage methods."""
    outlet_events: List[OutletEvent] = []
    """What the task recorded in ``outlet_events`` (extras, alias events, partition keys, and
    ``yield Metadata(...)``), which the host records in its own so its Airflow emits the asset
    events as for a native task."""
    dag_run_trigger: Optional[DagRunTrigger] = None
    """Set with a successful status: the host's Airflow triggers this dag run as for a native task."""
