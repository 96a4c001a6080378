"""Whether a build's runtime lags behind this host's schema, and which facets it therefore lacks.

The host refuses a task that needs a facet the target's runtime lacks, judging by the build's
recorded ``runtime_schema``; ``doctor`` and ``env list`` say so ahead of the first such task, with
the rebuild that fixes it. A build recorded before manifests carried the schema cannot be judged:
it is flagged too, since rebuilding is what records it.
"""

from __future__ import annotations

from airflow_isolation.core import SCHEMA_VERSION
from airflow_isolation.core.facets import FACETS, Facet, missing_in
from airflow_isolation.core.schema import SchemaVersion

_EVERY_FACET = tuple(facet.name for facet in FACETS)


def schema_lag(runtime_schema: str) -> str:
    """What a runtime accepting ``runtime_schema`` (a manifest's) lacks of this host's schema;
    ``""`` when it accepts all of it."""
    version = SchemaVersion.parse(runtime_schema)
    if version is None:
        oldest = missing_in(SchemaVersion(SCHEMA_VERSION.major, 0), _EVERY_FACET)
        return (
            "runtime schema not recorded (built before isolationctl recorded it), so tasks cannot be "
            f"checked against it: it may lack {_named(oldest)}"
        )
    if version.major != SCHEMA_VERSION.major:
        return (
            f"runtime schema {version} has another major than this host's {SCHEMA_VERSION}: "
            "it refuses this host's requests"
        )
    if version.minor >= SCHEMA_VERSION.minor:
        return ""
    missing = missing_in(version, _EVERY_FACET)
    lacks = _named(missing) if missing else "none of its facets, only newer fields"
    return f"runtime schema {version} is older than this host's {SCHEMA_VERSION}: it lacks {lacks}"


def rebuild_command(name: str, image: bool, path_args: str = "") -> str:
    return f"isolationctl env build {name}{' --target image' if image else ''}{path_args}"


def _named(facets: tuple[Facet, ...]) -> str:
    listed = ", ".join(f"{facet.name} (since {facet.since})" for facet in facets)
    return f"the facet{'s' * (len(facets) != 1)} {listed}"
