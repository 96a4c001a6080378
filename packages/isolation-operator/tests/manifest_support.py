"""Build manifests as the CLI leaves them, written without building anything (the operator reads
only the manifest and checks that the interpreter exists)."""

from __future__ import annotations

from pathlib import Path

import msgspec

from airflow_isolation.operator import environments
from airflow_isolation.workspace import environment as env_contract


def write_venv_manifest(builds: Path, name: str, runtime_schema: str) -> None:
    """A venv build of ``name`` as the CLI leaves it (the interpreter only needs to exist)."""
    venv = builds / "venvs" / name / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    manifest = env_contract.BuildManifest(
        name=name,
        content_hash="0" * 64,
        definition_digest=env_contract.definition_digest(environments.environments_path(), name),
        venv_path=str(venv),
        python_version="3.11",
        runtime_version="test",
        built_at="2024-01-01T00:00:00Z",
        runtime_schema=runtime_schema,
    )
    env_contract.manifest_path(builds, name).write_bytes(msgspec.json.encode(manifest))


def write_image_manifest(builds: Path, name: str, runtime_schema: str) -> None:
    manifest = env_contract.ImageManifest(
        name=name,
        content_hash="0" * 64,
        definition_digest=env_contract.definition_digest(environments.environments_path(), name),
        image=f"airflow-isolation/{name}:test",
        image_id="",
        base_image="python:3.11",
        base_image_id="",
        python_version="3.11",
        runtime_version="test",
        platform="linux/amd64",
        built_at="2024-01-01T00:00:00Z",
        runtime_schema=runtime_schema,
    )
    path = env_contract.image_manifest_path(builds, name)
    path.parent.mkdir(parents=True)
    path.write_bytes(msgspec.json.encode(manifest))
