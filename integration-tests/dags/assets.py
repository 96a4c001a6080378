"""Asset events emitted by isolated tasks, and read by isolated tasks of the DAGs they trigger.

One producer and one consumer DAG per target (``af31``, ``af210``) and a ``native`` pair that runs
the same callables without isolation, as the reference. Each producer emits three asset events:
extras set through ``outlet_events``, extras yielded as ``Metadata``, and an event through an asset
alias. Each consumer is scheduled on its producer's first asset and reads the triggering event's
extras (``triggering_asset_events``; Airflow 2: ``triggering_dataset_events``) in its target; a
host task checks them. ``test_assets`` runs them in a real deployment and compares the events the
isolated producers left in the host's database with the native producer's.

Assets are named by URI only, so the same asset is a ``Dataset`` to an Airflow 2 target.
"""

from __future__ import annotations

import pendulum

try:
    from airflow.sdk import DAG, Asset, AssetAlias, task
except ImportError:  # an Airflow 2 host
    from airflow import DAG
    from airflow.datasets import Dataset as Asset
    from airflow.datasets import DatasetAlias as AssetAlias
    from airflow.decorators import task
try:
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # an Airflow 2 host without the standard provider
    from airflow.operators.python import PythonOperator

from airflow_isolation.operator import IsolatedOperator

TARGETS = ["native", "af31", "af210"]
EXTRAS = {"rows": 7, "source": {"nested": [1, 2]}, "day": "2024-01-02"}
METADATA = {"via": "metadata", "n": 1}
ALIASED = {"via": "alias"}


def asset_uri(target: str, what: str) -> str:
    return f"s3://isolation-assets/{target}/{what}"


def set_extras(outlet_events, outlets, extras):
    for key, value in extras.items():
        outlet_events[outlets[0]].extra[key] = value


def yield_metadata(uri, extra):
    try:
        from airflow.sdk import Asset, Metadata

        yield Metadata(Asset(uri), extra)
    except ImportError:  # an Airflow 2 target
        from airflow.datasets import Dataset
        from airflow.datasets.metadata import Metadata

        yield Metadata(Dataset(uri), extra)
    return "yielded"


def add_through_alias(outlet_events, outlets, uri, extra):
    try:
        from airflow.sdk import Asset
    except ImportError:  # an Airflow 2 target
        from airflow.datasets import Dataset as Asset
    outlet_events[outlets[0]].add(Asset(uri), extra=extra)


def read_triggering_event(**context):
    events = context.get("triggering_asset_events") or context.get("triggering_dataset_events")
    keys = list(events)
    latest = events[keys[0]][-1]
    return {
        "keys": len(keys),
        "extra": dict(latest.extra),
        "source_dag_id": latest.source_dag_id,
        "source_task_id": latest.source_task_id,
    }


def _task(target, task_id, python_callable, **kwargs):
    if target == "native":
        return PythonOperator(task_id=task_id, python_callable=python_callable, **kwargs)
    return IsolatedOperator(task_id=task_id, environment=target, python_callable=python_callable, **kwargs)


for target in TARGETS:
    extras_asset = Asset(asset_uri(target, "extras"))
    with DAG(
        dag_id=f"assets_producer_{target}",
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        is_paused_upon_creation=False,
        default_args={"retries": 0},
    ):
        _task(target, "set_extras", set_extras, outlets=[extras_asset], op_kwargs={"extras": EXTRAS})
        _task(
            target,
            "yield_metadata",
            yield_metadata,
            outlets=[Asset(asset_uri(target, "metadata"))],
            op_kwargs={"uri": asset_uri(target, "metadata"), "extra": METADATA},
        )
        _task(
            target,
            "add_through_alias",
            add_through_alias,
            outlets=[AssetAlias(f"isolation_assets_{target}")],
            op_kwargs={"uri": asset_uri(target, "aliased"), "extra": ALIASED},
        )

    with DAG(
        dag_id=f"assets_consumer_{target}",
        schedule=[extras_asset],
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        is_paused_upon_creation=False,
        default_args={"retries": 0},
    ):
        read = _task(target, "read_triggering_event", read_triggering_event)

        @task
        def check_triggering_event(value, producer=f"assets_producer_{target}"):
            expected = {"keys": 1, "extra": EXTRAS, "source_dag_id": producer, "source_task_id": "set_extras"}
            assert value == expected, value

        check_triggering_event(read.output)
