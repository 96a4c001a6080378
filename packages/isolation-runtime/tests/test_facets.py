"""The runtime's facets are the table's (``core.facets``): one class per module named after its
facet, in the table's order, which is the order a run calls their hooks in."""

from __future__ import annotations

from airflow_isolation.core.facets import FACETS as TABLE
from airflow_isolation.runtime.entrypoint import FACETS


def test_every_facet_of_the_table_has_its_target_half_in_order() -> None:
    assert tuple(facet.facet for facet in FACETS) == TABLE


def test_each_facet_lives_in_the_module_named_after_it() -> None:
    for facet in FACETS:
        assert facet.__module__ == f"airflow_isolation.runtime.facets.{facet.facet.name}"
