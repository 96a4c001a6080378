"""What every command shares: the path and registry options, and how failures are reported."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional, TypeVar

import typer

from airflow_isolation.cli import ui
from airflow_isolation.cli.errors import CliError
from airflow_isolation.core.errors import IsolationError
from airflow_isolation.workspace.environment import BUILD_PATH_VAR, ENVIRONMENTS_PATH_VAR

PathOption = Annotated[
    Optional[Path],
    typer.Option(
        "--path",
        "-p",
        help=f"Folder holding the environments. Default: ${ENVIRONMENTS_PATH_VAR}, else [isolation] "
        "environments_path in airflow.cfg, else isolation.toml, else $AIRFLOW_HOME/environments "
        "(the operator's order: `isolationctl doctor` shows the result).",
        show_default=False,
    ),
]
BuildPathOption = Annotated[
    Optional[Path],
    typer.Option(
        "--build-path",
        help=f"Where builds and manifests live. Default: ${BUILD_PATH_VAR}, else [isolation] build_path "
        "in airflow.cfg, else isolation.toml, else ~/.cache/airflow-isolation.",
        show_default=False,
    ),
]

RegistryOption = Annotated[
    Optional[str],
    typer.Option(
        "--registry",
        metavar="HOST:PORT",
        help="Registry to look in (build) or push to. Default: registry in isolation.toml.",
        show_default=False,
    ),
]
HumanTagOption = Annotated[
    Optional[str],
    typer.Option(
        "--tag", metavar="TAG", help="Also tag the image with a human name, e.g. stable.", show_default=False
    ),
]

F = TypeVar("F", bound=Callable[..., None])


def guarded(func: F) -> F:
    """Report expected failures as a message and an exit code instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: object, **kwargs: object) -> None:
        try:
            func(*args, **kwargs)
        except CliError as exc:
            ui.print_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except IsolationError as exc:
            ui.print_error(CliError(str(exc)))
            raise typer.Exit(1) from None
        except OSError as exc:
            ui.print_error(
                CliError(str(exc), "check that the path exists, is writable and the disk is not full")
            )
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            ui.print_error(CliError("interrupted"))
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]
