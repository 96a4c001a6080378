"""Building an environment's image, or finding it already built, and recording it in the manifest.

The tag is the content hash, so an image with the planned tag *is* the planned image: if the engine
has it, or the registry does, nothing is built and only ``<build>/images/<name>/current.json``
(core's ``ImageManifest``) is (re)written. Otherwise, under a per-environment lock: fill the shared
wheelhouse, build the runtime wheels, refuse the build if one of these wheels' ``Requires-Python``
excludes the image's Python (uv's lock does not check upper bounds), serve both on 127.0.0.1 and
run ``docker build``. The manifest is replaced atomically after the image exists, and older images
of the environment are untagged (the newest ``KEEP_IMAGES`` stay, and any image carrying a human
tag). The schema the image's runtime accepts is asked of the core wheel it installs, labelled on
the image and recorded in the manifest from that label (from the wheel when only the registry has
the image).
"""

from __future__ import annotations

import re
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import docker
import docker.errors
import msgspec
from packaging.utils import parse_wheel_filename

from airflow_isolation.cli.builds.files import exclusive_lock, write_json_atomic
from airflow_isolation.cli.builds.runtime_schema import wheel_schema
from airflow_isolation.cli.builds.runtime_source import CORE_DIST
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.image.build_context import DockerfileSpec, write_context
from airflow_isolation.cli.image.build_stream import BuildLog, run_build
from airflow_isolation.cli.image.docker_engine import DOCKER_ERRORS, explain
from airflow_isolation.cli.image.installer_choice import choose_installer
from airflow_isolation.cli.image.plan import ImagePlan
from airflow_isolation.cli.image.registry import config_digest, lookup
from airflow_isolation.cli.image.runtime_wheels import pinned_requirements, runtime_wheels
from airflow_isolation.cli.image.wheel_server import assemble, serve
from airflow_isolation.cli.image.wheelhouse import fill_wheelhouse, locked_wheels, wheelhouse_path
from airflow_isolation.cli.resolve.requires_python import (
    PythonTarget,
    check_requires_python,
    wheel_distribution,
)
from airflow_isolation.cli.ui import Steps
from airflow_isolation.workspace.environment import (
    RUNTIME_SCHEMA_LABEL,
    ImageManifest,
    IsolationEnvironmentError,
    image_manifest_path,
    read_image_manifest,
)

KEEP_IMAGES = 2
LOCK_FILE = ".lock"
UP_TO_DATE = "up-to-date"
IN_REGISTRY = "in-registry"
BUILT = "built"
_HASH_TAG = re.compile(r"^[0-9a-f]{24}$")


@dataclass(frozen=True)
class ImageOutcome:
    """The manifest now in effect, how it came about, and the build log when there was a build."""

    manifest: ImageManifest
    action: str
    log: BuildLog | None = None
    removed: tuple[str, ...] = ()


def build_image(
    client: docker.DockerClient,
    plan: ImagePlan,
    steps: Steps,
    *,
    force: bool = False,
    platform_option: str | None = None,
) -> ImageOutcome:
    """The image of ``plan``: found, or built (``force``: built from scratch, no layer cache)."""
    if not force:
        found = find_existing(client, plan, steps)
        if found is not None:
            return found
    manifest_file = image_manifest_path(plan.build_path, plan.name)
    with exclusive_lock(manifest_file.parent / LOCK_FILE, steps):
        if not force:
            found = find_existing(client, plan, steps, check_registry=False)
            if found is not None:
                return found
        replaced = _get(client, plan.reference)  # only with --force: the same tag, built again
        log = _build(client, plan, steps, nocache=force, platform_option=platform_option)
        image = _get(client, plan.reference)
        if image is None:
            raise CliError(f"the build finished but {plan.reference} is not in the engine's images")
        _tag_human(client, plan, image.id)
        manifest = manifest_for(plan, image.id, _now(), pushed=[], runtime_schema=_labelled_schema(image))
        write_image_manifest(plan.build_path, manifest)
        if replaced is not None and replaced.id != image.id:
            with suppress(*DOCKER_ERRORS):  # left untagged by the rebuild; kept if still tagged or used
                client.images.remove(replaced.id)
        removed = prune_images(client, plan.repository, keep=image.id)
        return ImageOutcome(manifest, BUILT, log, tuple(removed))


def find_existing(
    client: docker.DockerClient, plan: ImagePlan, steps: Steps, check_registry: bool = True
) -> ImageOutcome | None:
    """The outcome when the planned tag already exists locally or in the registry, else ``None``."""
    previous = _previous(plan)
    image = _get(client, plan.reference)
    if image is not None:
        _tag_human(client, plan, image.id)
        built_at = previous.built_at if previous else _created(image)
        pushed = list(previous.pushed) if previous else []
        manifest = manifest_for(plan, image.id, built_at, pushed, runtime_schema=_labelled_schema(image))
        write_image_manifest(plan.build_path, manifest)
        return ImageOutcome(manifest, UP_TO_DATE)
    if not (check_registry and plan.registry):
        return None
    reference = plan.registry_reference(plan.registry)
    with steps.step(f"looking for {reference} in the registry"):
        found = lookup(client, reference)
    if found.problem:
        steps.note(f"warning: could not ask {plan.registry} ({found.problem}); building locally")
    if not found.found:
        return None
    arch = plan.platform.docker_platform.split("/")[1]
    image_id = (previous.image_id if previous else "") or config_digest(reference, arch) or ""
    pushed = _unique([*(previous.pushed if previous else []), reference])
    built_at = previous.built_at if previous else _now()
    if previous and previous.runtime_schema:
        schema = previous.runtime_schema
    else:
        with steps.step("airflow-isolation-core wheel: the schema its runtime accepts"):
            schema = _runtime_schema(plan)
    manifest = manifest_for(plan, image_id, built_at, pushed, runtime_schema=schema)
    write_image_manifest(plan.build_path, manifest)
    if plan.human_tag:
        steps.note(f"warning: --tag {plan.human_tag} not applied: the image is in the registry, not local")
    return ImageOutcome(manifest, IN_REGISTRY)


def _build(
    client: docker.DockerClient,
    plan: ImagePlan,
    steps: Steps,
    *,
    nocache: bool,
    platform_option: str | None,
) -> BuildLog:
    wheelhouse = wheelhouse_path(plan.build_path)
    fetched = fill_wheelhouse(plan.lock_text, plan.platform, wheelhouse, plan.definition_file, steps)
    locked = len(plan.lock_text.splitlines())
    steps.note(f"{locked} locked wheels in {wheelhouse} ({len(fetched)} newly fetched)")
    with steps.step("airflow-isolation-core and -runtime wheels"):
        runtime_dir = runtime_wheels(plan.runtime, plan.build_path)
    wheels = sorted(runtime_dir.glob("*.whl"))
    installed = [*locked_wheels(plan.lock_text, plan.platform, wheelhouse, plan.definition_file), *wheels]
    python = plan.platform.python_version
    with steps.step(f"checking the Requires-Python of {len(installed)} wheels against Python {python}"):
        check_requires_python(
            [wheel_distribution(wheel) for wheel in installed],
            PythonTarget(plan.name, plan.definition_file, python),
        )
    with tempfile.TemporaryDirectory(prefix="isolation-image-") as tmp:
        installer = choose_installer(plan.platform, plan.build_path)
        served = assemble(Path(tmp) / "served", wheelhouse, runtime_dir, installer)
        with serve(served) as url:
            spec = DockerfileSpec(
                base_image=plan.base_image_id,
                name=plan.name,
                content_hash=plan.content_hash,
                python_version=plan.platform.python_version,
                packages=plan.packages,
                server_url=url,
                runtime_schema=_runtime_schema(plan, wheels),
            )
            context = write_context(Path(tmp) / "context", spec, plan.lock_text, pinned_requirements(wheels))
            steps.note(f"building {plan.reference} from {plan.base.reference}, wheels served on {url}")
            return run_build(
                client,
                context,
                plan.reference,
                platform=platform_option,
                nocache=nocache,
                steps=steps,
                what=f"image {plan.reference}",
            )


def manifest_for(
    plan: ImagePlan, image_id: str, built_at: str, pushed: list[str], runtime_schema: str
) -> ImageManifest:
    return ImageManifest(
        name=plan.name,
        content_hash=plan.content_hash,
        definition_digest=plan.definition_digest,
        image=plan.reference,
        image_id=image_id,
        base_image=plan.base.reference,
        base_image_id=plan.base_image_id,
        python_version=plan.platform.python_version,
        runtime_version=plan.runtime.version,
        platform=plan.platform.docker_platform,
        built_at=built_at,
        pushed=pushed,
        runtime_schema=runtime_schema,
    )


def _runtime_schema(plan: ImagePlan, wheels: list[Path] | None = None) -> str:
    """What the planned image's runtime accepts, asked of the very core wheel it installs."""
    if wheels is None:
        wheels = sorted(runtime_wheels(plan.runtime, plan.build_path).glob("*.whl"))
    core = next(wheel for wheel in wheels if parse_wheel_filename(wheel.name)[0] == CORE_DIST)
    return wheel_schema(core, f"isolationctl env build {plan.name} --target image")


def _labelled_schema(image: Any) -> str:
    """The image's own record of its runtime's schema; ``""`` on an image built before the label."""
    return str((image.labels or {}).get(RUNTIME_SCHEMA_LABEL, ""))


def write_image_manifest(build_path: Path, manifest: ImageManifest) -> bool:
    """Replace ``current.json`` atomically unless it already says exactly this; ``True`` if written."""
    path = image_manifest_path(build_path, manifest.name)
    with suppress(OSError):
        if path.read_bytes().strip() == msgspec.json.format(msgspec.json.encode(manifest)).strip():
            return False
    write_json_atomic(path, manifest)
    return True


def prune_images(client: docker.DockerClient, repository: str, keep: str) -> list[str]:
    """Untag all but the newest ``KEEP_IMAGES`` images of ``repository``; never ``keep``, never an
    image with a human tag, never one a container still uses (the engine refuses, and that's fine)."""
    try:
        # The engine's summaries, not ``images.list``: that inspects each image, and another build
        # pruning the same repository meanwhile would make it raise NotFound.
        images = client.api.images(name=repository)
    except DOCKER_ERRORS:
        return []
    others = sorted(
        (image for image in images if image.get("Id") != keep),
        key=lambda image: int(image.get("Created") or 0),
        reverse=True,
    )
    removed = []
    for image in others[KEEP_IMAGES - 1 :]:
        ours = [tag for tag in image.get("RepoTags") or [] if _in_repository(tag, repository)]
        if not ours or not all(_HASH_TAG.match(tag.rpartition(":")[2]) for tag in ours):
            continue
        for tag in ours:
            try:
                client.images.remove(tag)
            except DOCKER_ERRORS:
                break
            removed.append(tag)
    return removed


def _in_repository(tag: str, repository: str) -> bool:
    name = tag.rpartition(":")[0]
    return name == repository or name.endswith("/" + repository)


def _previous(plan: ImagePlan) -> ImageManifest | None:
    """The current manifest if it describes this very image (its pushes and build time still hold)."""
    try:
        manifest = read_image_manifest(plan.build_path, plan.name)
    except IsolationEnvironmentError:
        return None
    if manifest is None or manifest.content_hash != plan.content_hash:
        return None
    return manifest


def _get(client: docker.DockerClient, reference: str) -> Any:
    try:
        return client.images.get(reference)
    except docker.errors.ImageNotFound:
        return None
    except DOCKER_ERRORS as exc:
        raise CliError(f"asking the Docker engine for {reference} failed: {explain(exc)}") from exc


def _tag_human(client: docker.DockerClient, plan: ImagePlan, image_id: str) -> None:
    if plan.human_tag:
        try:
            client.api.tag(image_id, plan.repository, plan.human_tag, force=True)
        except DOCKER_ERRORS as exc:
            raise CliError(f"tagging {plan.repository}:{plan.human_tag} failed: {explain(exc)}") from exc


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _created(image: Any) -> str:
    created = str(image.attrs.get("Created", ""))
    try:
        parsed = datetime.fromisoformat(created[:19]).replace(tzinfo=timezone.utc)
    except ValueError:
        return _now()
    return parsed.isoformat(timespec="seconds")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
