"""``isolationctl env``: the command group; each subcommand is the module of its name."""

from __future__ import annotations

import typer

from airflow_isolation.cli.commands.env import build, create, list, push, run, shell, warm

env_app = typer.Typer(
    help="Create, list, build, push and warm environments (folders holding an environment.toml).",
    no_args_is_help=True,
)
env_app.command("create")(create.env_create)
env_app.command("list")(list.env_list)
env_app.command("build")(build.env_build)
env_app.command("push")(push.env_push)
env_app.command("run", context_settings=run.PASS_THROUGH)(run.env_run)
env_app.command("shell")(shell.env_shell)
env_app.command("warm")(warm.env_warm)
