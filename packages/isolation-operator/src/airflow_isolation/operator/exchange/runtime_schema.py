"""An older runtime never ignores a feature silently.

A runtime reads requests of a newer minor of its schema's major and drops the fields it does not
know, and with them the feature they carry: a short circuit that skips nothing, its downstream run.
Each facet names the minor that introduced it (``core.facets``), and a task names the facets it
needs (``facets/``); a task is refused when its environment's runtime lacks one of them:

- before it runs, when the environment's build manifest says which schema its runtime accepts;
- after it ran, from the result's own header, when the manifest is older than that field (or the
  run used an explicit image, which has no manifest): the result is not applied, since what the
  missing facet should have carried back is not in it.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

from airflow_isolation.core import SCHEMA_VERSION, IsolationResult, SchemaVersion
from airflow_isolation.core.errors import IsolationError
from airflow_isolation.core.facets import Facet, missing_in
from airflow_isolation.operator import airflow_compat, environments

IMAGE_BACKENDS = frozenset({"docker", "kubernetes"})
"""Backends that run the environment's image (its ``ImageManifest``); the others run its venv."""


class OlderRuntimeError(airflow_compat.AirflowException):
    """The environment's runtime lacks a facet the task needs; rebuilding it is the fix."""


def declared_schema(backend: str, environment: str, options: Any) -> Optional[SchemaVersion]:
    """The schema the environment's runtime accepts, as its build manifest says; ``None`` when no
    manifest says (an explicit image, an older build, or no build at all, which the backend then
    reports in its own words)."""
    if getattr(options, "image", None):
        return None
    try:
        if backend in IMAGE_BACKENDS:
            manifest: Any = environments.resolve_image(environment)
        else:
            manifest = environments.resolve_venv(environment)
    except IsolationError:
        return None
    return SchemaVersion.parse(str(getattr(manifest, "runtime_schema", "") or ""))


def rebuild_hint(environment: str, backend: str) -> str:
    if backend in IMAGE_BACKENDS:
        return (
            f"rebuild it with this host's runtime: `isolationctl env build {environment} --target image`, "
            f"then `isolationctl env push {environment} --registry HOST:PORT` for other workers"
        )
    return f"rebuild it with this host's runtime: `isolationctl env build {environment}`"


def _describe(missing: Tuple[Facet, ...]) -> str:
    return "; ".join(f"{facet.name} (schema {facet.since}: {facet.summary})" for facet in missing)


def refuse_before_run(
    environment: str, backend: str, options: Any, needed: Tuple[str, ...]
) -> Optional[SchemaVersion]:
    """Raise ``OlderRuntimeError`` when the manifest says the runtime lacks a needed facet; return
    the schema it declares (``None``: unknown, the result's header decides)."""
    schema = declared_schema(backend, environment, options)
    if schema is None:
        return None
    missing = missing_in(schema, needed)
    if missing:
        raise OlderRuntimeError(
            f"environment {environment!r} was built with a runtime of schema {schema}, older than this "
            f"host's {SCHEMA_VERSION}: it lacks what this task needs and would ignore it silently: "
            f"{_describe(missing)}. Not running the task; {rebuild_hint(environment, backend)}"
        )
    return schema


def refuse_result(environment: str, backend: str, result: IsolationResult, needed: Tuple[str, ...]) -> None:
    """Raise ``OlderRuntimeError`` when the runtime that answered lacks a needed facet, instead of
    applying a result that silently left it out."""
    missing = missing_in(result.schema, needed)
    if not missing:
        return
    reported = (
        f" The task itself reported {result.error.type}: {result.error.message}." if result.error else ""
    )
    raise OlderRuntimeError(
        f"environment {environment!r} ran the task with a runtime of schema {result.schema}, older than "
        f"this host's {SCHEMA_VERSION}: it lacks what this task needs, so its result left it out: "
        f"{_describe(missing)}. Failing rather than ignoring it; the result was not applied.{reported} "
        f"{rebuild_hint(environment, backend).capitalize()}"
    )
