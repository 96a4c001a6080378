"""Which feature owns which schema fields, and since which schema minor.

A feature that crosses the boundary (skips, sensors, assets, lineage…) is a *facet*: a host half
that ships its fields in the request and applies its fields of the result, and a target half that
installs itself into the task's context and collects its fields when the task ends. This table is
the one place both halves, the compatibility check and the rule test agree on:

- a host refuses, before the task runs, to send a task that needs a facet to a runtime whose schema
  minor is older than the facet's ``since`` (that runtime would drop the fields it does not know, and
  with them the feature, silently: a short circuit that skips nothing);
- ``test_facet_rules`` fails when a module reads or writes a facet's field outside that facet's own
  modules.

Fields are spelt ``Struct.field`` with the Struct's name in :mod:`airflow_isolation.core.schema`.
Fields not listed here belong to the exchange itself (task, identity, status, error, timings).
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Tuple

from airflow_isolation.core.schema import SCHEMA_VERSION, SchemaVersion


class Facet(NamedTuple):
    name: str
    since: SchemaVersion
    """The schema version that introduced it: a runtime accepting an older minor lacks it."""
    fields: Tuple[str, ...]
    """``Struct.field`` names it alone reads and writes, in the request and the result."""
    summary: str


FACETS: Tuple[Facet, ...] = (
    Facet(
        "xcom",
        SchemaVersion(1, 0),
        ("TaskContext.upstream_xcoms", "IsolationResult.xcom_pushes"),
        "ti.xcom_pull of upstream return values; ti.xcom_push replayed on the host",
    ),
    Facet(
        "branch",
        SchemaVersion(1, 0),
        ("IsolationResult.branch",),
        "a branching operator's chosen task ids, followed by the host",
    ),
    Facet(
        "write_back",
        SchemaVersion(1, 1),
        ("RunOptions.xcom_write_back", "RunOptions.variable_write_back", "IsolationResult.variable_writes"),
        "Variable.set and xcom_push buffered in the target, applied by the host",
    ),
    Facet(
        "downstream_skips",
        SchemaVersion(1, 2),
        (
            "TaskContext.downstream_task_ids",
            "TaskContext.flat_downstream_task_ids",
            "TaskContext.downstream_teardown_ids",
            "IsolationResult.skip_downstream",
        ),
        "ShortCircuitOperator, SkipMixin.skip and DownstreamTasksSkipped skip on the host",
    ),
    Facet(
        "sensors",
        SchemaVersion(1, 2),
        ("TaskContext.first_reschedule_date", "TaskContext.run_after", "IsolationResult.reschedule_date"),
        "a sensor's reschedule mode and its timeout counted from the first poke",
    ),
    Facet(
        "shipped_modules",
        SchemaVersion(1, 3),
        ("IsolationRequest.modules",),
        "the task's own modules from the DAGs and plugins folders",
    ),
    Facet(
        "openlineage",
        SchemaVersion(1, 4),
        ("RunOptions.openlineage", "IsolationResult.openlineage"),
        "the wrapped operator's OpenLineage lineage for the host's listener",
    ),
    Facet(
        "assets",
        SchemaVersion(1, 4),
        (
            "TaskContext.inlets",
            "TaskContext.outlets",
            "TaskContext.inlet_events",
            "TaskContext.triggering_asset_events",
            "IsolationResult.outlet_events",
        ),
        "inlets, outlets, inlet_events, triggering events and the outlet events the host emits",
    ),
    Facet(
        "resumption",
        SchemaVersion(1, 5),
        ("IsolationRequest.resumption",),
        "the wrapped operator resumed in the target after a deferral the host's Airflow ran",
    ),
    Facet(
        "dag_run_trigger",
        SchemaVersion(1, 5),
        ("IsolationResult.dag_run_trigger",),
        "TriggerDagRunOperator's dag run, triggered (and waited for) by the host's Airflow",
    ),
    Facet(
        "host_channel",
        SchemaVersion(1, 5),
        ("RunOptions.host_channel",),
        "what the task asks Airflow at run time (states, XComs, variables), answered by the host",
    ),
)

BY_NAME: Dict[str, Facet] = {facet.name: facet for facet in FACETS}


def missing_in(runtime_schema: SchemaVersion, names: Tuple[str, ...]) -> Tuple[Facet, ...]:
    """The facets among ``names`` a runtime accepting ``runtime_schema`` does not have.

    Another major is not judged here: the codec refuses it with its own error.
    """
    if runtime_schema.major != SCHEMA_VERSION.major:
        return ()
    return tuple(BY_NAME[name] for name in names if BY_NAME[name].since.minor > runtime_schema.minor)
