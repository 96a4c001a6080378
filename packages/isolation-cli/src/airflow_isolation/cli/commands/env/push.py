"""``isolationctl env push NAME|--all``: push built images to a registry and record where."""

from __future__ import annotations

from typing import Annotated, Optional

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
from airflow_isolation.cli.image.plan import resolve_registry, validate_human_tag
from airflow_isolation.cli.image.push import push_image
from airflow_isolation.cli.settings import resolve_settings
from airflow_isolation.workspace.environment import read_image_manifest


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
    batch.one_name_or_all(name, every, "push")
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

    def step(each: str) -> batch.Done:
        if every and read_image_manifest(settings.build_path, each) is None:
            ui.say(f"{each} has no image to push (not built with --target image): skipped")
            return batch.Done(batch.SKIPPED, f"no image: `isolationctl env build {each} --target image`")
        steps = ui.Steps()
        outcome = push_image(engine.client, settings, each, registry=target, human_tag=human_tag, steps=steps)
        digest = f" ({outcome.digest})" if outcome.digest else ""
        ui.say(f"Pushed {', '.join(outcome.references)}{digest} in {steps.elapsed:.1f}s.", style="green")
        ui.say(f"Workers with backend='docker' now pull {outcome.references[0]} when they lack the image.")
        return batch.Done("pushed", ", ".join(outcome.references))

    if name is not None:
        step(name)
        return
    names = batch.names(settings, "push")
    batch.report(batch.run_each(names, "image", step), f"Pushed {len(names)} environment(s) to {target}")
