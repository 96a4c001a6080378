"""Everything that decides an environment's image, computed before anything is downloaded or built.

The plan probes the base image, resolves the lock for the image's platform and derives the content
hash, which is the image's tag: if an image with that tag exists (locally or in the registry) it is
this image, and the build is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import docker

from airflow_isolation.cli.builds.hashing import effective_definition_digest, image_content_hash
from airflow_isolation.cli.builds.runtime_source import RuntimeSource, find_runtime_source
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.image.base_image import (
    BaseImageChoice,
    check_python,
    choose_base_image,
    ensure_base_image,
    probe_base_image,
)
from airflow_isolation.cli.image.build_context import recipe_digest
from airflow_isolation.cli.image.registry import validate_registry
from airflow_isolation.cli.image.system_packages import system_packages
from airflow_isolation.cli.image.target_platform import (
    TargetPlatform,
    arch_of_docker_platform,
    target_platform,
)
from airflow_isolation.cli.resolve.lock import (
    LOCK_RECORD_FILE,
    compile_lock_for_platform,
    definition_constraints,
    lock_inputs,
    reuse_or_resolve,
)
from airflow_isolation.cli.settings import Settings
from airflow_isolation.cli.ui import Steps
from airflow_isolation.workspace.environment import (
    EnvironmentDefinition,
    definition_digest,
    definition_path,
    image_manifest_path,
    image_repository,
    image_tag,
    load_definition,
)

_HUMAN_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


@dataclass(frozen=True)
class ImageOptions:
    """The command line's say in an image build."""

    base_image: str | None = None
    platform: str | None = None
    human_tag: str | None = None
    registry: str | None = None
    upgrade: bool = False


@dataclass(frozen=True)
class ImagePlan:
    name: str
    definition: EnvironmentDefinition
    definition_file: Path
    definition_digest: str
    base: BaseImageChoice
    base_image_id: str
    platform: TargetPlatform
    packages: tuple[str, ...]
    runtime: RuntimeSource
    lock_text: str
    content_hash: str
    build_path: Path
    registry: str | None
    human_tag: str | None

    @property
    def repository(self) -> str:
        return image_repository(self.name)

    @property
    def tag(self) -> str:
        return image_tag(self.content_hash)

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"

    def registry_reference(self, registry: str) -> str:
        return f"{registry}/{self.reference}"


def validate_human_tag(tag: str) -> str:
    """A Docker tag that cannot be mistaken for a content hash tag."""
    if not tag or len(tag) > 128 or tag[0] in ".-" or not set(tag) <= _HUMAN_TAG_CHARS:
        raise CliError(
            f"--tag {tag!r} is not a Docker tag",
            "use up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-' (e.g. stable)",
        )
    if len(tag) == len(image_tag("0" * 64)) and all(char in "0123456789abcdef" for char in tag):
        raise CliError(f"--tag {tag!r} looks like a content hash tag", "pick a human name such as 'stable'")
    return tag


def resolve_registry(option: str | None, settings: Settings) -> str | None:
    """``--registry`` > ``registry`` in isolation.toml > none."""
    if option:
        return validate_registry(option, "--registry")
    if settings.project.registry:
        return validate_registry(settings.project.registry, f"registry in {settings.settings_file}")
    return None


def plan_image_build(
    client: docker.DockerClient, settings: Settings, name: str, options: ImageOptions, steps: Steps
) -> ImagePlan:
    definition = load_definition(settings.environments_path, name)
    definition_file = definition_path(settings.environments_path, name)
    human_tag = validate_human_tag(options.human_tag) if options.human_tag else None
    registry = resolve_registry(options.registry, settings)
    requested_arch = arch_of_docker_platform(options.platform) if options.platform else None
    packages = system_packages(settings.environments_path, name, definition)
    choice = choose_base_image(options.base_image, definition, settings.project)
    base = ensure_base_image(client, choice, options.platform, steps)
    with steps.step(f"probing base image {choice.reference}"):
        probe = probe_base_image(client, base.id, choice, options.platform)
    warning = check_python(probe, choice, definition.python, name)
    platform = target_platform(probe.python_version, probe.machine, probe.libc, probe.libc_version)
    if requested_arch is not None and requested_arch != platform.arch:
        raise CliError(
            f"--platform {options.platform} was asked for, but base image {choice.reference} runs "
            f"{platform.docker_platform}",
            f"pull the {options.platform} variant of the base image (`docker pull --platform "
            f"{options.platform} {choice.reference}`) or drop --platform",
        )
    steps.note(f"{choice.reference} ({choice.source}): {platform.describe()}, id {base.id[7:19]}")
    if warning:
        steps.note(f"warning: {warning}")
    if packages and not probe.has_apt:
        raise CliError(
            f"environment {name!r} needs system packages ({', '.join(packages)}) but base image "
            f"{choice.reference} has no apt-get",
            "use a Debian/Ubuntu based image, or remove `packages` and packages.txt",
        )
    runtime = find_runtime_source()
    steps.note(f"runtime from {runtime.location}")
    count = len(definition.requirements)
    requirements = [*definition.requirements, *runtime.requirements]
    constraints = definition_constraints(definition, definition_file)
    digest = definition_digest(settings.environments_path, name)
    lock_text = reuse_or_resolve(
        image_manifest_path(settings.build_path, name).parent / LOCK_RECORD_FILE,
        lock_inputs(
            digest, f"python {platform.python_version} on {platform.uv_platform}", requirements, constraints
        ),
        lambda: compile_lock_for_platform(requirements, platform, definition_file, constraints),
        steps=steps,
        what=f"resolving {count} requirement{'s' * (count != 1)} with uv for {platform.uv_platform}, "
        f"Python {platform.python_version}",
        upgrade=options.upgrade,
    )
    content_hash = image_content_hash(
        recipe=recipe_digest(),
        base_image_id=base.id,
        platform=f"{platform.docker_platform} {platform.uv_platform}",
        python_version=platform.python_version,
        lock_text=lock_text,
        packages=packages,
        runtime_version=runtime.version,
        definition_digest=effective_definition_digest(definition),
    )
    return ImagePlan(
        name=name,
        definition=definition,
        definition_file=definition_file,
        definition_digest=digest,
        base=choice,
        base_image_id=base.id,
        platform=platform,
        packages=packages,
        runtime=runtime,
        lock_text=lock_text,
        content_hash=content_hash,
        build_path=settings.build_path,
        registry=registry,
        human_tag=human_tag,
    )
