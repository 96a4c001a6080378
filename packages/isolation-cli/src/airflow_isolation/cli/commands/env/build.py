"""``isolationctl env build NAME|--all``: a content-hashed venv or image of an environment."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from airflow_isolation.cli import ui
from airflow_isolation.cli.commands.env import batch
from airflow_isolation.cli.commands.options import (
    BuildPathOption,
    HumanTagOption,
    PathOption,
    RegistryOption,
    guarded,
)
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.image import docker_engine
from airflow_isolation.cli.image.builder import IN_REGISTRY, UP_TO_DATE, build_image
from airflow_isolation.cli.image.plan import ImageOptions, plan_image_build
from airflow_isolation.cli.settings import Settings, resolve_settings
from airflow_isolation.cli.venv.builder import build, plan_build


class Target(str, Enum):
    venv = "venv"
    image = "image"


@guarded
def env_build(
    *,
    name: Annotated[
        Optional[str], typer.Argument(help="Name of the environment to build (or --all).", show_default=False)
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Build every environment; a failure does not stop the others.")
    ] = False,
    target: Annotated[
        Target, typer.Option("--target", help="What to build: a venv on this machine, or a Docker image.")
    ] = Target.venv,
    force: Annotated[
        bool,
        typer.Option("--force", help="Rebuild even if up to date (an image: without the layer cache)."),
    ] = False,
    upgrade: Annotated[
        bool,
        typer.Option(
            "--upgrade",
            help="Resolve the lock again even though the definition did not change (newer releases "
            "the requirements admit). Without it a kept lock is reused while the definition, Python "
            "and runtime are unchanged.",
        ),
    ] = False,
    python_path: Annotated[
        Optional[Path],
        typer.Option(
            "--python-path",
            help="venv: interpreter to build with instead of searching uv/pyenv.",
            show_default=False,
        ),
    ] = None,
    base_image: Annotated[
        Optional[str],
        typer.Option(
            "--base-image",
            help="image: parent image. Default: base_image in environment.toml, else in isolation.toml, "
            "else python:X.Y-slim-bookworm.",
            show_default=False,
        ),
    ] = None,
    platform: Annotated[
        Optional[str],
        typer.Option(
            "--platform",
            metavar="OS/ARCH",
            help="image: target platform, e.g. linux/amd64. Default: the base image's.",
            show_default=False,
        ),
    ] = None,
    tag: HumanTagOption = None,
    registry: RegistryOption = None,
    path: PathOption = None,
    build_path: BuildPathOption = None,
) -> None:
    """Build NAME (or --all) into a content-hashed venv or image; skip when an up-to-date build exists."""
    batch.one_name_or_all(name, every, "build")
    settings = resolve_settings(path, build_path)
    if target is Target.image:
        if python_path is not None:
            raise CliError("--python-path only applies to --target venv", "drop it", exit_code=2)
        options = ImageOptions(base_image, platform, tag, registry, upgrade)

        def step(each: str) -> batch.Done:
            return _build_image(settings, each, options, force)

    else:
        image_only = {
            "--base-image": base_image,
            "--platform": platform,
            "--tag": tag,
            "--registry": registry,
        }
        given = [option for option, value in image_only.items() if value is not None]
        if given:
            raise CliError(
                f"{', '.join(given)} only apply to --target image", "add --target image", exit_code=2
            )

        def step(each: str) -> batch.Done:
            return _build_venv(settings, each, python_path, force, upgrade)

    if name is not None:
        step(name)
        return
    names = batch.names(settings, "build")
    batch.report(batch.run_each(names, target.value, step), f"Built {len(names)} environment(s)")


def _build_venv(
    settings: Settings, name: str, python_path: Path | None, force: bool, upgrade: bool
) -> batch.Done:
    steps = ui.Steps()
    plan = plan_build(settings, name, python_path, steps, upgrade=upgrade)
    if plan.definition.packages:
        ui.warn(
            f"`packages` ({', '.join(plan.definition.packages)}) only apply to image builds; "
            "ignored for a venv"
        )
    outcome = build(plan, steps, force=force)
    manifest = outcome.manifest
    short = manifest.content_hash[:12]
    if outcome.action == "up-to-date":
        ui.say(
            f"{name} is up to date ({short}, Python {manifest.python_version}): {manifest.venv_path}",
            style="green",
        )
        return batch.Done(outcome.action, manifest.venv_path)
    verb = "Built" if outcome.action == "built" else "Reused existing build"
    ui.say(
        f"{verb} {name} {short} (Python {manifest.python_version}) in {steps.elapsed:.1f}s: "
        f"{manifest.venv_path}",
        style="green",
    )
    ui.say(f"Tasks can now use environment={name!r} with the venv backend.")
    return batch.Done(outcome.action, manifest.venv_path)


def _build_image(settings: Settings, name: str, options: ImageOptions, force: bool) -> batch.Done:
    engine = docker_engine.connect()
    if not engine.is_local:
        raise CliError(
            f"image builds need a Docker engine on this machine, not {engine.address}: the build fetches "
            "its wheels from a server on this machine's 127.0.0.1",
            "unset DOCKER_HOST (or point it at the local engine) and build here",
        )
    steps = ui.Steps()
    plan = plan_image_build(engine.client, settings, name, options, steps)
    outcome = build_image(engine.client, plan, steps, force=force, platform_option=options.platform)
    manifest = outcome.manifest
    if outcome.action == UP_TO_DATE:
        ui.say(
            f"{name} is up to date: {manifest.image} ({manifest.image_id[7:19]}), nothing built",
            style="green",
        )
    elif outcome.action == IN_REGISTRY:
        ui.say(
            f"{name} is already in the registry as {plan.registry_reference(str(plan.registry))}: nothing "
            "built, nothing pulled (a worker pulls it when a task needs it)",
            style="green",
        )
    else:
        log = outcome.log
        cached = f", {log.cached_count} of {len(log.steps)} steps cached" if log else ""
        ui.say(
            f"Built {manifest.image} for {name} in {steps.elapsed:.1f}s{cached}: "
            f"{_size_delta(engine.client, manifest.image_id, manifest.base_image_id)}",
            style="green",
        )
        for removed in outcome.removed:
            steps.note(f"removed old image tag {removed}")
    if plan.human_tag and outcome.action != IN_REGISTRY:
        ui.say(f"Also tagged {plan.repository}:{plan.human_tag}.")
    pushed = f" (pushed: {', '.join(manifest.pushed)})" if manifest.pushed else ""
    ui.say(f"Tasks can now use environment={name!r} with backend='docker'{pushed}.")
    if not manifest.pushed:
        ui.say(f"For workers on other machines: `isolationctl env push {name} --registry HOST:PORT`.")
    return batch.Done(str(outcome.action), manifest.image)


_SIZE_ERRORS: tuple[type[BaseException], ...] = (*docker_engine.DOCKER_ERRORS, KeyError, ValueError)


def _size_delta(client: Any, image_id: str, base_id: str) -> str:
    try:
        size = int(client.images.get(image_id).attrs["Size"])
        base = int(client.images.get(base_id).attrs["Size"])
    except _SIZE_ERRORS:
        return "size unknown"
    return f"{size / 1e6:.0f} MB, {(size - base) / 1e6:+.1f} MB over the base image"
