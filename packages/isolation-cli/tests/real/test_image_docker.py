"""``env build --target image`` and ``env push`` against the real Docker engine and registry.

One environment is built once for the module and then changed step by step (a requirement, the
runtime), pushed, removed and found again in the registry. Without an engine, the base image or
the registry these tests skip, unless ``ISOLATION_REQUIRE_REAL=1`` (CI), where that is a failure.
Every image created here carries a per-session name and is removed at the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest
from cli_test_support import PY38_AND_LATER, PY38_ONLY, make_runtime_source, run_cli
from real_components import docker_engine, require_image, require_registry

from airflow_isolation.core import SCHEMA_VERSION
from airflow_isolation.workspace.environment import ImageManifest, image_manifest_path, read_image_manifest

BASE_IMAGE = os.environ.get("ISOLATION_TEST_BASE_IMAGE", "isolation-base:bookworm")
SESSION = uuid.uuid4().hex[:8]
CHECK = (
    "import six, airflow_isolation.runtime as r, airflow_isolation.core as c, platform, sys; "
    "print(six.__version__, r.MARK, c.__version__, platform.python_version(), sys.executable)"
)


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    engine = docker_engine()
    require_image(engine, BASE_IMAGE)
    yield engine
    for image in engine.api.images(filters={"label": "io.airflow-isolation.environment"}):
        labels = image.get("Labels") or {}
        if labels.get("io.airflow-isolation.environment", "").endswith(SESSION):
            for tag in image.get("RepoTags") or []:
                with contextlib.suppress(docker.errors.APIError):
                    engine.images.remove(tag, force=True)


@pytest.fixture
def registry() -> str:
    return require_registry()


@dataclass
class Project:
    environments: Path
    build: Path
    runtime: Path
    name: str

    @property
    def definition(self) -> Path:
        return self.environments / self.name / "environment.toml"

    def manifest(self) -> ImageManifest:
        manifest = read_image_manifest(self.build, self.name)
        assert manifest is not None
        return manifest


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, client: docker.DockerClient) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("image-project")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", str(root / "environments"))
        patch.setenv("AIRFLOW__ISOLATION__BUILD_PATH", str(root / "build"))
        patch.setenv("ISOLATION_RUNTIME_SOURCE", str(make_runtime_source(root / "runtime-src")))
        patch.delenv("AIRFLOW__ISOLATION__SETTINGS_FILE", raising=False)
        patch.setenv("COLUMNS", "250")
        yield Project(root / "environments", root / "build", root / "runtime-src", f"img{SESSION}")


def build(name: str, *extra: str) -> tuple[int, str, float]:
    began = time.monotonic()
    result = run_cli("env", "build", name, "--target", "image", "--base-image", BASE_IMAGE, *extra)
    return result.exit_code, result.stdout + result.stderr, time.monotonic() - began


def run_in(client: docker.DockerClient, image: str, command: str) -> str:
    output = client.containers.run(image, ["sh", "-c", command], remove=True, network_disabled=True)
    return output.decode()


def layers(client: docker.DockerClient, image: str) -> list[str]:
    return list(client.images.get(image).attrs["RootFS"]["Layers"])


def was_cached(output: str, instruction: str) -> bool:
    """Whether Docker reused the layer of the build step starting with ``instruction``."""
    lines = [line.strip() for line in output.splitlines()]
    for index, line in enumerate(lines):
        if line.startswith("Step ") and line.split(" : ", 1)[1].startswith(instruction):
            return index + 1 < len(lines) and lines[index + 1] == "cached"
    raise AssertionError(f"no step {instruction!r} in:\n{output}")


@pytest.fixture(scope="module")
def built(project: Project) -> dict[str, object]:
    """The module's image: six, the fake runtime and jq (from packages.txt) on the base image."""
    assert run_cli("env", "create", project.name, "-r", "six==1.16.0").exit_code == 0
    (project.environments / project.name / "packages.txt").write_text("# tools\njq\n")
    code, output, elapsed = build(project.name)
    assert code == 0, output
    print(f"\ncold image build: {elapsed:.1f}s")
    return {"output": output, "elapsed": elapsed, "manifest": project.manifest()}


def test_build_creates_a_runnable_image_without_wheels_in_it(
    project: Project, built: dict[str, object], client: docker.DockerClient
) -> None:
    manifest = project.manifest()
    assert manifest == built["manifest"]
    assert manifest.image == f"airflow-isolation/{project.name}:{manifest.content_hash[:24]}"
    assert manifest.python_version == "3.11.2"
    assert manifest.platform == "linux/amd64"
    assert manifest.base_image == BASE_IMAGE
    assert manifest.base_image_id == client.images.get(BASE_IMAGE).id
    assert manifest.pushed == []
    image = client.images.get(manifest.image)
    assert image.id == manifest.image_id
    assert image.labels["io.airflow-isolation.environment"] == project.name
    assert image.labels["io.airflow-isolation.content-hash"] == manifest.content_hash
    assert (
        image.labels["io.airflow-isolation.runtime-schema"] == manifest.runtime_schema == str(SCHEMA_VERSION)
    )
    output = str(built["output"])
    assert "Built airflow-isolation/" in output
    assert "Step 1/11" in output
    assert "over the base image" in output

    said = run_in(client, manifest.image, f"python -c '{CHECK}'").split()
    assert said == ["1.16.0", "original", "0.1.0", "3.11.2", "/opt/isolation/venv/bin/python"]
    checks = run_in(
        client,
        manifest.image,
        "jq --version; stat -c %a /isolation /opt/isolation/airflow-home; echo AIRFLOW_HOME=$AIRFLOW_HOME; "
        "find / -xdev \\( -name '*.whl' -o -name uv \\) -print; "
        "ls /opt/isolation/venv/lib/python3.11/site-packages/__pycache__/six.*.pyc",
    ).split()
    assert checks[0].startswith("jq-")
    assert checks[1:3] == ["1777", "1777"]
    assert checks[3] == "AIRFLOW_HOME=/opt/isolation/airflow-home"
    assert len(checks) == 5, f"wheels or uv left in the image: {checks[4:-1]}"


def test_second_build_is_skipped(project: Project, built: dict[str, object]) -> None:
    manifest_file = image_manifest_path(project.build, project.name)
    before = manifest_file.stat().st_mtime_ns

    code, output, elapsed = build(project.name)

    assert code == 0, output
    print(f"\nno-change image build: {elapsed:.1f}s")
    assert "is up to date" in output
    assert "Step " not in output
    assert manifest_file.stat().st_mtime_ns == before


def test_changed_requirement_rebuilds_on_the_cached_apt_and_venv_layers(
    project: Project, built: dict[str, object], client: docker.DockerClient
) -> None:
    first = project.manifest()
    project.definition.write_text(project.definition.read_text().replace("six==1.16.0", "six==1.15.0"))

    code, output, elapsed = build(project.name)

    assert code == 0, output
    print(f"\none-requirement-change image build: {elapsed:.1f}s")
    second = project.manifest()
    assert second.content_hash != first.content_hash
    assert second.image_id != first.image_id
    assert was_cached(output, "RUN apt-get")
    assert was_cached(output, "RUN python3 -m venv")
    # The lock's layer changed (its install may still come from Docker's cache when another
    # environment installed this exact lock before: that is the cache working, not a stale layer).
    at = len(layers(client, BASE_IMAGE)) + 3
    assert layers(client, second.image)[at] != layers(client, first.image)[at]
    assert run_in(client, second.image, f"python -c '{CHECK}'").split()[:2] == ["1.15.0", "original"]


def test_changed_runtime_rebuilds_only_the_runtime_layer(
    project: Project, built: dict[str, object], client: docker.DockerClient
) -> None:
    before = project.manifest()
    init = project.runtime / "isolation-runtime" / "src" / "airflow_isolation" / "runtime" / "__init__.py"
    init.write_text(f'MARK = "edited-{SESSION}"\n')

    code, output, elapsed = build(project.name)

    assert code == 0, output
    print(f"\nruntime-change image build: {elapsed:.1f}s")
    after = project.manifest()
    assert after.runtime_version != before.runtime_version
    assert was_cached(output, "RUN python3 /opt/isolation/install.py http://127.0.0.1:47617 wheels")
    assert not was_cached(output, "COPY runtime.txt")
    assert layers(client, after.image)[-1] != layers(client, before.image)[-1]
    assert run_in(client, after.image, f"python -c '{CHECK}'").split()[:2] == ["1.15.0", f"edited-{SESSION}"]


def test_push_records_the_reference_and_the_registry_has_it(
    project: Project, built: dict[str, object], client: docker.DockerClient, registry: str
) -> None:
    manifest = project.manifest()

    result = run_cli("env", "push", project.name, "--registry", registry, "--tag", "stable")

    assert result.exit_code == 0, result.output
    reference = f"{registry}/{manifest.image}"
    human = f"{registry}/airflow-isolation/{project.name}:stable"
    assert project.manifest().pushed == [reference, human]
    assert client.images.get_registry_data(reference).id.startswith("sha256:")
    assert f"Pushed {reference}" in result.stdout
    listed = {entry["name"]: entry for entry in json.loads(run_cli("env", "list", "--json").stdout)}
    assert listed[project.name]["image"]["pushed"] == [reference, human]


def test_push_to_an_unreachable_registry_fails_clearly(
    project: Project, built: dict[str, object], client: docker.DockerClient
) -> None:
    pushed_before = project.manifest().pushed

    result = run_cli("env", "push", project.name, "--registry", "127.0.0.1:1")

    assert result.exit_code == 1
    assert "pushing 127.0.0.1:1/airflow-isolation/" in result.stderr
    assert "connection refused" in result.stderr
    assert "fix: start the registry at 127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.output
    assert project.manifest().pushed == pushed_before
    assert not [
        tag for tag in client.images.get(project.manifest().image).tags if tag.startswith("127.0.0.1:1/")
    ]


def test_build_is_skipped_when_only_the_registry_has_the_image(
    project: Project, built: dict[str, object], client: docker.DockerClient, registry: str
) -> None:
    manifest = project.manifest()
    if not manifest.pushed:
        assert run_cli("env", "push", project.name, "--registry", registry).exit_code == 0
    for tag in client.images.get(manifest.image).tags:
        client.images.remove(tag)
    image_manifest_path(project.build, project.name).unlink()

    code, output, _ = build(project.name, "--registry", registry)

    assert code == 0, output
    assert "already in the registry" in output
    assert "Step " not in output
    found = project.manifest()
    assert found.content_hash == manifest.content_hash
    assert found.image_id == manifest.image_id, "the config digest was not read from the registry"
    assert found.pushed == [f"{registry}/{manifest.image}"]
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(manifest.image)
    client.images.pull(found.pushed[0])
    assert client.images.get(found.pushed[0]).id == manifest.image_id


def test_failed_build_shows_the_relevant_log_lines(project: Project, client: docker.DockerClient) -> None:
    name = f"broken{SESSION}"
    assert run_cli("env", "create", name, "--package", "no-such-package-isolation").exit_code == 0

    code, output, _ = build(name)

    assert code == 1
    assert "building image airflow-isolation/" in output
    assert "failed at Step 2/" in output
    assert "last " in output and "lines of the build log" in output
    assert "Unable to locate package no-such-package-isolation" in output
    assert "fix:" in output
    assert "Traceback" not in output
    assert read_image_manifest(project.build, name) is None


def test_a_wheel_whose_requires_python_excludes_the_images_python_is_refused_before_docker_build(
    project: Project, client: docker.DockerClient, bounded_wheels: Path
) -> None:
    # uv locks it for the image's Python anyway (it ignores Requires-Python upper bounds).
    name = f"bounded{SESSION}"
    assert run_cli("env", "create", name, "--python", "3.11", "-r", f"{PY38_ONLY}==1.0").exit_code == 0
    definition = project.environments / name / "environment.toml"

    code, output, _ = build(name)

    assert code == 1, output
    assert (
        f"error: {PY38_ONLY} 1.0 requires Python >=3.8,<3.9 (its Requires-Python), but environment "
        f"'{name}' ({definition}) builds for Python 3.11.2"
    ) in output
    fix = f'fix: set python = "3.8" there, or require a version of {PY38_ONLY} that supports Python 3.11'
    assert fix in output
    assert "Traceback" not in output
    assert "Step " not in output, "docker build ran"
    assert read_image_manifest(project.build, name) is None
    assert not client.api.images(name=f"airflow-isolation/{name}")


def test_a_wheel_whose_requires_python_admits_the_images_python_is_built(
    project: Project, client: docker.DockerClient, bounded_wheels: Path
) -> None:
    name = f"admitted{SESSION}"
    assert run_cli("env", "create", name, "--python", "3.11", "-r", f"{PY38_AND_LATER}==1.0").exit_code == 0

    code, output, _ = build(name)

    assert code == 0, output
    assert "checking the Requires-Python of" in output
    manifest = read_image_manifest(project.build, name)
    assert manifest is not None
    module = PY38_AND_LATER.replace("-", "_")
    said = run_in(client, manifest.image, f"python -c 'import {module}; print({module}.VERSION)'")
    assert said.split() == ["1.0"]


def test_unusable_base_images_are_refused_with_a_fix(project: Project, client: docker.DockerClient) -> None:
    name = f"bases{SESSION}"
    assert run_cli("env", "create", name, "--python", "3.12").exit_code == 0

    code, output, _ = build(name)
    assert code == 1
    assert f"base image {BASE_IMAGE} (from --base-image) has Python 3.11.2" in output
    assert "python = '3.12'" in output
    assert "python:3.12-slim-bookworm" in output

    result = run_cli("env", "build", name, "--target", "image", "--base-image", "isolation-missing:nope")
    assert result.exit_code == 1
    assert "isolation-missing:nope (from --base-image) is not available locally and could not be pulled" in (
        result.stderr
    )

    scratch = f"isolation-nopython:{SESSION}"
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        data = b"no python here\n"
        info = tarfile.TarInfo("README")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    client.api.import_image_from_data(archive.getvalue(), repository=scratch.split(":", 1)[0], tag=SESSION)
    try:
        result = run_cli("env", "build", name, "--target", "image", "--base-image", scratch)
        assert result.exit_code == 1
        assert f"base image {scratch} (from --base-image) has no python3" in result.stderr
        assert not client.api.containers(all=True, filters={"label": "io.airflow-isolation.probe"})
    finally:
        client.images.remove(scratch, force=True)


def test_real_runtime_image_runs_its_entrypoint(
    project: Project, client: docker.DockerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ISOLATION_RUNTIME_SOURCE")
    name = f"plain{SESSION}"
    assert run_cli("env", "create", name).exit_code == 0

    code, output, elapsed = build(name)

    assert code == 0, output
    print(f"\nreal-runtime image build: {elapsed:.1f}s")
    manifest = read_image_manifest(project.build, name)
    assert manifest is not None
    help_text = client.containers.run(manifest.image, remove=True, network_disabled=True).decode()
    assert "usage: python -m airflow_isolation.runtime" in help_text

    code, output, _ = build(name, "--force")

    assert code == 0, output
    assert "0 of 10 steps cached" in output
    forced = read_image_manifest(project.build, name)
    assert forced is not None
    assert forced.image == manifest.image
    assert forced.image_id != manifest.image_id
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(manifest.image_id)  # the image the rebuild untagged is removed, not left dangling


def test_build_all_and_push_all_cover_every_environment(
    project: Project, built: dict[str, object], registry: str
) -> None:
    """The module's other environments are in the folder too: only these two rows are asserted."""
    unresolvable = f"unresolvable{SESSION}"
    extra = project.environments / unresolvable
    extra.mkdir()
    (extra / "environment.toml").write_text('requirements = ["this-package-does-not-exist-anywhere==1.0"]\n')
    try:
        built_all = run_cli("env", "build", "--all", "--target", "image", "--base-image", BASE_IMAGE)
        pushed_all = run_cli("env", "push", "--all", "--registry", registry)
    finally:
        (extra / "environment.toml").unlink()
        extra.rmdir()

    assert built_all.exit_code == 1, built_all.output
    rows = table_rows(built_all.stdout)
    assert rows[project.name].split()[5] in ("built", "up-to-date", "in-registry"), "earlier tests edit it"
    assert project.manifest().image.split(":")[1] in rows[project.name]
    assert "failed" in rows[unresolvable]
    rows = table_rows(pushed_all.stdout)
    assert "pushed" in rows[project.name]
    assert "skipped" in rows[unresolvable]
    failed = [name for name, line in rows.items() if " failed " in line]
    assert pushed_all.exit_code == (1 if failed else 0), pushed_all.output


def table_rows(output: str) -> dict[str, str]:
    """The summary table's lines by environment name."""
    return {line.split()[1]: line for line in output.splitlines() if "│" in line and " image " in line}


def test_an_image_of_an_older_runtime_carries_its_schema_and_is_flagged(
    project: Project, client: docker.DockerClient, runtime_1_1: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built from the schema 1.1 checkout: its label and manifest say 1.1 (what its runtime accepts,
    not this CLI's core), and ``doctor`` and ``env list`` name the facets it lacks."""
    name = f"old{SESSION}"
    monkeypatch.setenv("ISOLATION_RUNTIME_SOURCE", str(runtime_1_1))
    assert run_cli("env", "create", name).exit_code == 0

    code, output, _ = build(name)

    assert code == 0, output
    manifest = read_image_manifest(project.build, name)
    assert manifest is not None
    assert manifest.runtime_schema == "1.1"
    assert client.images.get(manifest.image).labels["io.airflow-isolation.runtime-schema"] == "1.1"
    probe = "from airflow_isolation.core import SCHEMA_VERSION as s; print(s.major, s.minor)"
    assert run_in(client, manifest.image, f'python -c "{probe}"').split() == ["1", "1"]
    doctor = " ".join(run_cli("doctor").stdout.split())
    assert f"runtime schema 1.1 is older than this host's {SCHEMA_VERSION}" in doctor
    assert f"fix: rebuild with `isolationctl env build {name} --target image`" in doctor
    listed = " ".join(run_cli("env", "list").stderr.split())
    assert f"{name}: image runtime schema 1.1" in listed
    assert "downstream_skips (since 1.2)" in listed
