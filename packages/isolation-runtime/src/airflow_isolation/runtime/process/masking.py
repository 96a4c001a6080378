"""Secret redaction for everything the target prints.

Installed before Airflow is imported, so every handler Airflow creates writes through it; Airflow's
own masker is fed too where it exists (``airflow_compat.register_secrets``). The host masks the
streamed lines again, so a secret printed by a grandchild process straight to the file descriptor
is still caught there.
"""

from __future__ import annotations

import io
import sys
from typing import Iterable, List, TextIO

REDACTED = "***"
_MIN_SECRET_LENGTH = 3


def secrets_worth_masking(values: Iterable[str]) -> List[str]:
    """Longest first, so a secret containing another is replaced whole."""
    unique = {v for v in values if isinstance(v, str) and len(v) >= _MIN_SECRET_LENGTH}
    return sorted(unique, key=len, reverse=True)


def redact(text: str, secrets: List[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingStream(io.TextIOBase):
    """A text stream that replaces secrets before passing text on.

    Text is buffered up to the newline so a secret split across two ``write`` calls is still
    replaced; ``flush`` releases a partial line.
    """

    def __init__(self, inner: TextIO, secrets: List[str]):
        self._inner = inner
        self._secrets = secrets
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            head, _, self._pending = self._pending.rpartition("\n")
            self._inner.write(redact(head + "\n", self._secrets))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._inner.write(redact(self._pending, self._secrets))
            self._pending = ""
        self._inner.flush()

    def fileno(self) -> int:
        return self._inner.fileno()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._inner, "encoding", "utf-8")


def install(secrets: List[str]) -> None:
    """Route stdout and stderr through the redactor (line buffered, so logs stream live)."""
    if not secrets:
        return
    sys.stdout = RedactingStream(sys.stdout, secrets)
    sys.stderr = RedactingStream(sys.stderr, secrets)
