"""Errors of the wire contract; each message says what was wrong, where, and what to do."""

from __future__ import annotations

from typing import Any


class IsolationError(Exception):
    """Base class of every error airflow-isolation raises on purpose."""


class ValueEncodeError(IsolationError, TypeError):
    """A value that cannot cross the process boundary, reported with its path."""

    def __init__(self, path: object, value: Any, hint: str, destination: str = "the target"):
        path = str(path)  # a lazily built ValuePath until something goes wrong
        self.path = path
        self.value_type = f"{type(value).__module__}.{type(value).__qualname__}"
        self.hint = hint
        super().__init__(self._message(destination))

    def _message(self, destination: str) -> str:
        return f"{self.path}: cannot send a value of type {self.value_type} to {destination}: {self.hint}"

    def toward(self, destination: str) -> ValueEncodeError:
        """The same error for a message travelling to ``destination`` (a result goes to the host)."""
        turned = type(self).__new__(type(self))
        turned.__dict__.update(self.__dict__)
        Exception.__init__(turned, self._message(destination))
        return turned


class SchemaVersionError(IsolationError):
    """The two sides speak different major versions of the wire schema."""


class RequestDecodeError(IsolationError):
    """A request or result file that is not a valid, complete message."""


class RequestIntegrityError(IsolationError):
    """A request whose bytes differ from what the host wrote and vouched for."""
