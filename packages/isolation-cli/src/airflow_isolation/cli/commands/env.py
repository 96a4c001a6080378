"""``isolationctl env``: create, list, build, push and try environments."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from airflow_isolation.cli import ui
from airflow_isolation.cli.airflow_pins import airflow_requirements, official_constraints, read_constraints
from airflow_isolation.cli.commands import deploy, env_run, warm
from airflow_isolation.cli.commands.options import (
    BuildPathOption,
    HumanTagOption,
    PathOption,
    RegistryOption,
    guarded,
)
from airflow_isolation.cli.definition_sources import import_requirements
from airflow_isolation.cli.definition_writer import create_definition
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.image import docker_engine
from airflow_isolation.cli.image.builder import IN_REGISTRY, UP_TO_DATE, build_image
from airflow_isolation.cli.image.plan import (
    ImageOptions,
    plan_image_build,
    resolve_registry,
    validate_human_tag,
)
from airflow_isolation.cli.image.push import push_image
from airflow_isolation.cli.settings import Settings, resolve_settings
from airflow_isolation.cli.status import BUILT, NOT_BUILT, ImageStatus, all_statuses
from airflow_isolation.cli.venv.builder import build, plan_build
from airflow_isolation.workspace.environment import list_environment_names, read_image_manifest

env_app = typer.Typer(
    help="Create, list, build, push and warm environments (folders holding an environment.toml).",
    no_args_is_help=True,
)


DEFAULT_PYTHON = "3.11"


class Target(str, Enum):
    venv = "venv"
    image = "image"


@env_app.command("create")
@guarded
def env_create(
    *,
    name: Annotated[str, typer.Argument(help="Environment name: lowercase letters, digits, '.', '_', '-'.")],
    python: Annotated[
        Optional[str],
        typer.Option(
            "--python",
            help="Python version of the target, e.g. 3.11 or 3.11.7. Default: the --from file's "
            "requires-python, else 3.11.",
            show_default=False,
        ),
    ] = None,
    airflow: Annotated[
        Optional[str],
        typer.Option(
            "--airflow",
            metavar="VERSION",
            help="Add apache-airflow==VERSION and the standard provider (what a wrapped operator needs), "
            "with Airflow's constraints for VERSION and the Python when they can be fetched.",
            show_default=False,
        ),
    ] = None,
    constraints: Annotated[
        Optional[str],
        typer.Option(
            "--constraints",
            metavar="FILE_OR_URL",
            help="A constraints file or URL, copied next to the definition; bounds every lock resolution.",
            show_default=False,
        ),
    ] = None,
    from_file: Annotated[
        Optional[Path],
        typer.Option(
            "--from",
            metavar="FILE",
            help="Take requirements from a requirements.txt, a pyproject.toml ([project] dependencies, "
            "requires-python) or a uv.lock (its locked versions, pinned).",
            show_default=False,
        ),
    ] = None,
    requirement: Annotated[
        Optional[list[str]],
        typer.Option(
            "--requirement",
            "-r",
            metavar="SPEC",
            help="A pip requirement specifier; repeat for several.",
            show_default=False,
        ),
    ] = None,
    package: Annotated[
        Optional[list[str]],
        typer.Option(
            "--package",
            metavar="PACKAGE",
            help="A system (apt) package for image builds; repeat for several.",
            show_default=False,
        ),
    ] = None,
    base_image: Annotated[
        Optional[str], typer.Option("--base-image", help="Parent image for image builds.", show_default=False)
    ] = None,
    description: Annotated[
        str, typer.Option("--description", help="Free text describing the environment.")
    ] = "",
    path: PathOption = None,
) -> None:
    """Create NAME/environment.toml in the environments folder (refuses to overwrite)."""
    settings = resolve_settings(path)
    imported = import_requirements(from_file) if from_file is not None else None
    target_python = python or (imported.python if imported else None) or DEFAULT_PYTHON
    requirements = [
        *(airflow_requirements(airflow) if airflow else []),
        *(imported.requirements if imported else []),
        *(requirement or []),
    ]
    if constraints is not None:
        constraints_text: str | None = read_constraints(constraints)
    elif airflow is not None:
        constraints_text = official_constraints(airflow, target_python)
    else:
        constraints_text = None
    created = create_definition(
        settings.environments_path,
        name,
        python=target_python,
        requirements=requirements,
        packages=package or [],
        base_image=base_image,
        description=description,
        constraints_text=constraints_text,
    )
    count = len(requirements)
    pinned = " under constraints.txt" if constraints_text is not None else ""
    ui.say(
        f"Created environment {name!r} (Python {target_python}, {count} requirement{'s' * (count != 1)}"
        f"{pinned}): {created}",
        style="green",
    )
    ui.say(
        f"Next: edit it if needed, then run `isolationctl env build {name} --target venv{settings.path_args}`"
    )


@env_app.command("list")
@guarded
def env_list(
    path: PathOption = None,
    build_path: BuildPathOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one object per environment) for scripts.")
    ] = False,
) -> None:
    """List environments with their Python, requirement count, venv state and image state."""
    settings = resolve_settings(path, build_path)
    statuses = all_statuses(settings)
    if as_json:
        typer.echo(json.dumps([status.as_json() for status in statuses], indent=2))
        return
    if not statuses:
        ui.say(
            f"No environments in {settings.environments_path} "
            f"({settings.describe_environments_source()}). "
            f"Create one with `isolationctl env create NAME{settings.path_args}`."
        )
        return
    table = Table(title=f"Environments in {settings.environments_path}", title_justify="left")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("python", no_wrap=True)
    table.add_column("#reqs", justify="right", no_wrap=True, min_width=5)
    table.add_column("venv", no_wrap=True)
    table.add_column("built at", overflow="fold")
    table.add_column("image", overflow="fold")
    for status in statuses:
        style = "green" if status.state == BUILT else "yellow" if status.definition else "red"
        table.add_row(
            status.name,
            status.definition.python if status.definition else "?",
            str(len(status.definition.requirements)) if status.definition else "?",
            Text(status.label, style=style),
            status.manifest.built_at if status.manifest else "",
            _image_cell(status.image) if status.definition else Text(""),
        )
    ui.stdout().print(table)
    for status in statuses:
        for problem in (status.problem, status.image.problem):
            if problem:
                ui.warn(f"{status.name}: {problem}")


def _image_cell(image: ImageStatus) -> Text:
    style = {BUILT: "green", NOT_BUILT: "dim"}.get(image.state, "yellow")
    cell = Text(image.label, style=style)
    if image.registries:
        cell.append(f"\npushed: {', '.join(image.registries)}", style="dim")
    return cell


@env_app.command("build")
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
    deploy.one_name_or_all(name, every, "build")
    settings = resolve_settings(path, build_path)
    if target is Target.image:
        if python_path is not None:
            raise CliError("--python-path only applies to --target venv", "drop it", exit_code=2)
        options = ImageOptions(base_image, platform, tag, registry, upgrade)

        def step(each: str) -> deploy.Done:
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

        def step(each: str) -> deploy.Done:
            return _build_venv(settings, each, python_path, force, upgrade)

    if name is not None:
        step(name)
        return
    names = _every_environment(settings, "build")
    deploy.report(deploy.run_each(names, target.value, step), f"Built {len(names)} environment(s)")


def _every_environment(settings: Settings, command: str) -> list[str]:
    names = list_environment_names(settings.environments_path)
    if not names:
        raise CliError(
            f"no environments to {command} in {settings.environments_path} ({settings.environments_origin})",
            f"create one with `isolationctl env create NAME{settings.path_args}`, or point --path at "
            "your environments folder",
        )
    return names


def _build_venv(
    settings: Settings, name: str, python_path: Path | None, force: bool, upgrade: bool
) -> deploy.Done:
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
        return deploy.Done(outcome.action, manifest.venv_path)
    verb = "Built" if outcome.action == "built" else "Reused existing build"
    ui.say(
        f"{verb} {name} {short} (Python {manifest.python_version}) in {steps.elapsed:.1f}s: "
        f"{manifest.venv_path}",
        style="green",
    )
    ui.say(f"Tasks can now use environment={name!r} with the venv backend.")
    return deploy.Done(outcome.action, manifest.venv_path)


def _build_image(settings: Settings, name: str, options: ImageOptions, force: bool) -> deploy.Done:
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
    return deploy.Done(str(outcome.action), manifest.image)


_SIZE_ERRORS: tuple[type[BaseException], ...] = (*docker_engine.DOCKER_ERRORS, KeyError, ValueError)


def _size_delta(client: Any, image_id: str, base_id: str) -> str:
    try:
        size = int(client.images.get(image_id).attrs["Size"])
        base = int(client.images.get(base_id).attrs["Size"])
    except _SIZE_ERRORS:
        return "size unknown"
    return f"{size / 1e6:.0f} MB, {(size - base) / 1e6:+.1f} MB over the base image"


@env_app.command("push")
@guarded
def env_push(
    *,
    name: Annotated[
        Optional[str],
        typer.Argument(
            help="Name of the environment whose built image to push (or --all).", show_default=False
        ),
    ] = None,
    every: Annotated[
        bool,
        typer.Option("--all", help="Push every environment's image; a failure does not stop the others."),
    ] = False,
    registry: RegistryOption = None,
    tag: HumanTagOption = None,
    path: PathOption = None,
    build_path: BuildPathOption = None,
) -> None:
    """Push NAME's (or --all) built image to a registry (tag = content hash, plus --tag) and record it."""
    deploy.one_name_or_all(name, every, "push")
    settings = resolve_settings(path, build_path)
    target = resolve_registry(registry, settings)
    if target is None:
        raise CliError(
            "no registry to push to",
            "pass --registry HOST:PORT, or set registry in isolation.toml",
            exit_code=2,
        )
    human_tag = validate_human_tag(tag) if tag else None
    engine = docker_engine.connect()

    def step(each: str) -> deploy.Done:
        if every and read_image_manifest(settings.build_path, each) is None:
            ui.say(f"{each} has no image to push (not built with --target image): skipped")
            return deploy.Done(deploy.SKIPPED, f"no image: `isolationctl env build {each} --target image`")
        steps = ui.Steps()
        outcome = push_image(engine.client, settings, each, registry=target, human_tag=human_tag, steps=steps)
        digest = f" ({outcome.digest})" if outcome.digest else ""
        ui.say(f"Pushed {', '.join(outcome.references)}{digest} in {steps.elapsed:.1f}s.", style="green")
        ui.say(f"Workers with backend='docker' now pull {outcome.references[0]} when they lack the image.")
        return deploy.Done("pushed", ", ".join(outcome.references))

    if name is not None:
        step(name)
        return
    names = _every_environment(settings, "push")
    deploy.report(deploy.run_each(names, "image", step), f"Pushed {len(names)} environment(s) to {target}")


env_app.command("run", context_settings=env_run.PASS_THROUGH)(env_run.env_run)
env_app.command("shell")(env_run.env_shell)
env_app.command("warm")(warm.env_warm)
