"""Operators with OpenLineage methods, run in the target by the lineage tests (imported there by
class path, and on the host to build what a native run reports)."""

from __future__ import annotations

from typing import Any, Dict, Optional

import attrs
from airflow.providers.openlineage.extractors import OperatorLineage
from airflow.sdk import BaseOperator
from openlineage.client.event_v2 import Dataset, InputDataset, OutputDataset
from openlineage.client.facet_v2 import (
    RunFacet,
    error_message_run,
    output_statistics_output_dataset,
    schema_dataset,
    sql_job,
)


@attrs.define
class PartitionRunFacet(RunFacet):
    """A facet class only the target has: the host must pass it on field by field."""

    partition: str
    details: Dict[str, Any] = attrs.field(factory=dict)
    note: Optional[str] = None

    @staticmethod
    def _get_schema() -> str:
        return "https://example.com/spec/PartitionRunFacet.json#/$defs/PartitionRunFacet"


def lineage(rows: Optional[int], state: Any, error: Optional[str] = None) -> OperatorLineage:
    schema = schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name="id", type="INTEGER"),
            schema_dataset.SchemaDatasetFacetFields(name="amount", type="DECIMAL", description="in EUR"),
        ]
    )
    output_facets = {}
    if rows is not None:
        output_facets["outputStatistics"] = (
            output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=rows)
        )
    run_facets: Dict[str, Any] = {
        "partition": PartitionRunFacet(partition="2024-01-02", details={"state": state, "rows": rows}),
    }
    if error is not None:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python"
        )
    return OperatorLineage(
        inputs=[
            InputDataset(namespace="sqlite://warehouse", name="main.orders", facets={"schema": schema}),
            Dataset(namespace="file", name="/data/rates.csv"),
        ],
        outputs=[
            OutputDataset(namespace="sqlite://warehouse", name="main.totals", outputFacets=output_facets)
        ],
        run_facets=run_facets,
        job_facets={"sql": sql_job.SQLJobFacet(query="INSERT INTO totals SELECT sum(amount) FROM orders")},
    )


class LineageOperator(BaseOperator):
    """Reports lineage as SQL operators do: on start, on complete (with what ``execute`` learnt) and on
    failure."""

    def __init__(self, *, fail: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fail = fail
        self.rows: Optional[int] = None

    def execute(self, context: Any) -> Any:
        if self.fail:
            raise ValueError("the load failed")
        self.rows = 3
        return self.rows

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        return lineage(None, "start")

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        return lineage(self.rows, task_instance.state)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage:
        return lineage(self.rows, task_instance.state, error="the load failed")


class StartOnlyLineageOperator(LineageOperator):
    """Only ``on_start``: the provider calls it again when the task ends."""

    get_openlineage_facets_on_complete = None  # type: ignore[assignment]
    get_openlineage_facets_on_failure = None  # type: ignore[assignment]

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        return lineage(self.rows, "start-only")


class NoneLineageOperator(LineageOperator):
    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        return None


class BrokenLineageOperator(LineageOperator):
    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        raise RuntimeError("lineage went wrong")


class NoLineageOperator(BaseOperator):
    def execute(self, context: Any) -> Any:
        return "plain"
