"""Errors the CLI reports to the user as a message and an exit code, never as a traceback."""

from __future__ import annotations

from collections.abc import Sequence


class CliError(Exception):
    """A user-facing failure: what was wrong and where (``message``), what to do (``hint``).

    ``details`` carries the few lines of a tool's log that explain the failure (a Docker build's
    last output lines, say), printed between the message and the fix.
    """

    def __init__(
        self,
        message: str,
        hint: str = "",
        exit_code: int = 1,
        details: Sequence[str] = (),
        details_title: str = "",
    ):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
        self.details = list(details)
        self.details_title = details_title


class CommandFailed(CliError):
    """An external tool (uv, an interpreter) failed; keeps its stderr so the user sees why."""

    def __init__(self, what: str, argv: Sequence[str], returncode: int, stderr: str, hint: str = ""):
        super().__init__(f"{what} failed (exit code {returncode})", hint)
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr

    def stderr_tail(self, lines: int = 30) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()][-lines:]
