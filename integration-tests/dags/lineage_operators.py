"""An operator with real OpenLineage lineage, importable natively and shipped to isolated targets
(Airflow 3 and 2.10) from this DAG folder: datasets with facets, a custom run facet class, a SQL
job facet, and lineage that depends on what ``execute`` did and on how the task ended."""

from __future__ import annotations

from typing import Any, Dict, Optional

import attrs

try:
    from airflow.sdk import BaseOperator
except ImportError:  # Airflow 2
    from airflow.models.baseoperator import BaseOperator


def _facet_classes() -> Any:
    """Built on first use: the OpenLineage client is imported only when lineage is asked for, as
    providers do."""
    from openlineage.client.facet_v2 import RunFacet

    @attrs.define
    class LoadRunFacet(RunFacet):
        """A facet class the host does not have when the task runs isolated."""

        partition: str
        rows: Optional[int] = None
        details: Dict[str, Any] = attrs.field(factory=dict)

        @staticmethod
        def _get_schema() -> str:
            return "https://example.com/spec/LoadRunFacet.json#/$defs/LoadRunFacet"

    return LoadRunFacet


class LoadOperator(BaseOperator):
    template_fields = ("partition",)

    def __init__(self, *, partition: str, fail: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.partition = partition
        self.fail = fail
        self.rows: Optional[int] = None

    def execute(self, context: Any) -> Any:
        self.rows = 3
        if self.fail:
            raise ValueError("the load failed after 3 rows")
        return self.rows

    def _lineage(self, state: Any, error: Optional[str] = None) -> Any:
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import Dataset, InputDataset, OutputDataset
        from openlineage.client.facet_v2 import (
            error_message_run,
            output_statistics_output_dataset,
            schema_dataset,
            sql_job,
        )

        schema = schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(name="id", type="INTEGER"),
                schema_dataset.SchemaDatasetFacetFields(name="amount", type="DECIMAL", description="EUR"),
            ]
        )
        statistics = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=self.rows)
        run_facets: Dict[str, Any] = {
            "load": _facet_classes()(
                partition=self.partition,
                rows=self.rows,
                details={"state": str(getattr(state, "value", state))},
            )
        }
        if error is not None:
            run_facets["loadError"] = error_message_run.ErrorMessageRunFacet(
                message=error, programmingLanguage="python"
            )
        return OperatorLineage(
            inputs=[
                InputDataset(namespace="sqlite://warehouse", name="main.orders", facets={"schema": schema}),
                Dataset(namespace="file", name="/data/rates.csv"),
            ],
            outputs=[
                OutputDataset(
                    namespace="sqlite://warehouse",
                    name=f"main.totals_{self.partition}",
                    outputFacets={"outputStatistics": statistics},
                )
            ],
            run_facets=run_facets,
            job_facets={
                "sql": sql_job.SQLJobFacet(query="INSERT INTO totals SELECT sum(amount) FROM orders")
            },
        )

    def get_openlineage_facets_on_start(self) -> Any:
        return self._lineage("start")

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        return self._lineage(task_instance.state)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        return self._lineage(task_instance.state, error="the load failed after 3 rows")


class PlainOperator(BaseOperator):
    """No OpenLineage methods: the provider reports only what it knows of the task."""

    def execute(self, context: Any) -> Any:
        return "plain"
