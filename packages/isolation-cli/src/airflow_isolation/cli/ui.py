"""Rich output helpers: results on stdout, errors and diagnostics on stderr, timed build steps.

User-supplied text (paths, requirement specifiers, uv output) is printed as plain ``Text`` so
square brackets in it are never taken for rich markup.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.text import Text

from airflow_isolation.cli.errors import CliError, CommandFailed

OK = "✓"
FAIL = "✗"
WARN = "!"


def stdout() -> Console:
    return Console(highlight=False)


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def say(message: str, style: str = "") -> None:
    stdout().print(Text(message, style=style), soft_wrap=True)


def warn(message: str) -> None:
    stderr().print(Text(f"warning: {message}", style="yellow"), soft_wrap=True)


def print_error(error: CliError) -> None:
    console = stderr()
    console.print(Text(f"error: {error.message}", style="bold red"), soft_wrap=True)
    if isinstance(error, CommandFailed):
        console.print(Text(f"command: {' '.join(error.argv)}", style="red"), soft_wrap=True)
        tail = error.stderr_tail()
        if tail:
            console.print(Text(f"last {len(tail)} lines of its output:", style="red"))
            for line in tail:
                console.print(Text(f"  {line}", style="dim"), soft_wrap=True)
    if error.details:
        console.print(Text(error.details_title or f"last {len(error.details)} lines:", style="red"))
        for line in error.details:
            console.print(Text(f"  {line}", style="dim"), soft_wrap=True)
    if error.hint:
        console.print(Text(f"fix: {error.hint}", style="red"), soft_wrap=True)


class Steps:
    """Named, timed steps with a spinner while each one runs and a ✓/✗ line when it ends."""

    def __init__(self, console: Console | None = None):
        self.console = console or stdout()
        self.started = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            with self.console.status(Text(description)):
                yield
        except BaseException:
            self._done(FAIL, "red", description, began)
            raise
        self._done(OK, "green", description, began)

    @contextmanager
    def live_step(self, description: str) -> Iterator[Callable[[str], None]]:
        """Like :meth:`step`, yielding a function that shows the latest progress next to the spinner."""
        began = time.monotonic()
        try:
            with self.console.status(Text(description)) as status:
                yield lambda detail: status.update(Text(f"{description}: {detail}"[:160]))
        except BaseException:
            self._done(FAIL, "red", description, began)
            raise
        self._done(OK, "green", description, began)

    def note(self, message: str) -> None:
        self.console.print(Text(f"  {message}", style="dim"), soft_wrap=True)

    def _done(self, mark: str, style: str, description: str, began: float) -> None:
        line = (
            Text(f"{mark} ", style=style)
            + Text(description)
            + Text(f" ({time.monotonic() - began:.1f}s)", style="dim")
        )
        self.console.print(line, soft_wrap=True)
