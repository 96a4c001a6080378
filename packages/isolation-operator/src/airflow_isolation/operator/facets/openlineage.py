"""The wrapped operator's OpenLineage lineage, handed to the host's OpenLineage listener.

The target computes it with the operator's own methods (the runtime's OpenLineage facet) and sends it as
plain JSON (``core.OpenLineageFacets``). Here it becomes what an operator's method returns: the
provider's ``OperatorLineage`` with the client's dataset classes, so that the provider's manager,
redaction and ``Serde`` treat it as a native operator's. Facets stay JSON objects: ``Serde``
writes a dict exactly as it writes the attrs facet it came from, and so a facet class that exists
only in the target (a custom facet, a newer client's) keeps every field, ``_producer`` and
``_schemaURL`` included.

OpenLineage is imported only when the listener asks: the host may not have the provider.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Dict, List, Optional

from airflow_isolation.core import IsolationRequest, IsolationResult, OpenLineageReport
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.operator.facets.base import Fields, HostFacet, HostTask

METHODS = ("get_openlineage_facets_on_start", "get_openlineage_facets_on_complete")
"""Either one makes the provider use its ``DefaultExtractor`` for an operator."""


def class_has_lineage_methods(cls: Optional[type]) -> bool:
    return cls is not None and any(callable(getattr(cls, name, None)) for name in METHODS)


def listener_will_ask(wrapped_class_path: Optional[str]) -> bool:
    """Whether the host's OpenLineage listener will want the wrapped operator's lineage: the provider
    is installed here and enabled, and ``[openlineage] disabled_for_operators`` does not name the
    operator's class. The target computes it only then, as natively only the listener calls it."""
    if wrapped_class_path is None:
        return False
    try:
        from airflow.providers.openlineage import conf

        return not conf.is_disabled() and wrapped_class_path not in conf.disabled_operators()
    except ImportError:
        return False


def operator_lineage(report: Optional[OpenLineageReport]) -> Any:
    """The provider's ``OperatorLineage`` for ``report``, or ``None`` (what the operator's method
    returned, or the provider is not installed here)."""
    if report is None or report.lineage is None:
        return None
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage
    except ImportError:
        return None
    facets = report.lineage
    return OperatorLineage(
        inputs=datasets(facets.inputs),
        outputs=datasets(facets.outputs),
        run_facets=dict(facets.run_facets),
        job_facets=dict(facets.job_facets),
    )


def datasets(shipped: List[Dict[str, Any]]) -> List[Any]:
    """``InputDataset`` / ``OutputDataset`` when the target's had input or output facets, else a
    plain ``Dataset``, as the operator built them."""
    from openlineage.client.event_v2 import Dataset, InputDataset, OutputDataset

    rebuilt: List[Any] = []
    for data in shipped:
        common = {"namespace": data.get("namespace", ""), "name": data.get("name", "")}
        if "facets" in data:
            common["facets"] = data["facets"]
        if "inputFacets" in data:
            rebuilt.append(InputDataset(**common, inputFacets=data["inputFacets"]))
        elif "outputFacets" in data:
            rebuilt.append(OutputDataset(**common, outputFacets=data["outputFacets"]))
        else:
            rebuilt.append(Dataset(**common))
    return rebuilt


class OpenLineageMethods:
    """``IsolatedOperator``'s OpenLineage methods. The provider picks its extractor by whether an
    operator has them, so they exist exactly when the wrapped operator's do (an AttributeError reads
    as absent): after a run, as the target found; before, as the host's class says (a class only
    the target has: none)."""

    _wrapped: Any
    log: Any
    _result_lineage: Optional[OpenLineageReport] = None
    _result_read = False

    def keep_lineage(self, report: Optional[OpenLineageReport]) -> None:
        self._result_lineage = report
        self._result_read = True

    def _has_lineage_methods(self) -> bool:
        if self._result_read:
            return self._result_lineage is not None
        return class_has_lineage_methods(self._wrapped.operator_class if self._wrapped else None)

    def _lineage_method(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        if not self._has_lineage_methods():
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return method

    @property
    def get_openlineage_facets_on_start(self) -> Callable[[], Any]:
        return self._lineage_method("get_openlineage_facets_on_start", self._nothing_yet)

    @property
    def get_openlineage_facets_on_complete(self) -> Callable[[Any], Any]:
        return self._lineage_method("get_openlineage_facets_on_complete", self._target_lineage)

    @property
    def get_openlineage_facets_on_failure(self) -> Callable[[Any], Any]:
        return self._lineage_method("get_openlineage_facets_on_failure", self._target_lineage)

    def _nothing_yet(self) -> Any:
        """The START event is sent before the target runs the operator (docs/native-parity.md,
        "OpenLineage")."""
        return None

    def _target_lineage(self, task_instance: Any) -> Any:
        """What the target's operator returned as the task ended, chosen there as the provider's
        ``DefaultExtractor`` chooses (on failure, complete, else start)."""
        shipped = self._result_lineage.lineage if self._result_lineage else None
        if shipped is not None:
            self.log.debug("OpenLineage: lineage from the target's %s", shipped.method)
        return operator_lineage(self._result_lineage)


class OpenLineage(HostFacet):
    facet: ClassVar[Facet] = BY_NAME["openlineage"]

    def needed(self, task: HostTask, request: IsolationRequest) -> bool:
        return request.options.openlineage

    def option_fields(self, task: HostTask) -> Fields:
        return {"openlineage": listener_will_ask(task.class_path)}

    def ended(self, operator: Any, context: Dict[str, Any], result: IsolationResult) -> None:
        """Kept whatever the outcome: the listener asks on failure too."""
        operator.keep_lineage(result.openlineage)
