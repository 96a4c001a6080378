"""The target halves of the facets (``airflow_isolation.core.facets``): one module per facet, each
the only code in the runtime that reads or writes that facet's schema fields."""
