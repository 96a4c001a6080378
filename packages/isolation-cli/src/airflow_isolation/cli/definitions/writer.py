"""Writing a new ``environment.toml`` that documents its own keys for whoever edits it next.

TOML is written by hand (no writer dependency); every value goes through :func:`toml_string`
and the result is parsed back with core's loader, so a file this module writes always loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from airflow_isolation.cli.definitions.airflow_pins import CONSTRAINTS_FILE
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.resolve.python_finder import parse_request
from airflow_isolation.workspace.environment import (
    EnvironmentDefinition,
    IsolationEnvironmentError,
    definition_path,
    load_definition,
    validate_name,
)

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(value: str) -> str:
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_list(values: Sequence[str]) -> str:
    if not values:
        return "[]"
    return "[\n" + "".join(f"    {toml_string(value)},\n" for value in values) + "]"


def render_definition(name: str, definition: EnvironmentDefinition) -> str:
    lines = [
        f"# airflow-isolation environment {name!r}. Build it with `isolationctl env build {name}`;",
        "# any edit to this file changes the environment's content hash, so rebuild after editing.",
        '#   python       Python of the target: "3.11" (any 3.11.x found on the build machine) or "3.11.7".',
        "#   requirements pip requirement specifiers; resolved on the host into a lock, then installed.",
        "#   packages     system (apt) packages; used by image builds only.",
        "#   base_image   parent image for image builds; leave out for the default.",
        "#   description  free text for humans.",
        "#   constraints  a constraints file next to this one (or a URL) bounding the resolution; the",
        "#                packages `requirements` give a version of are taken out of it (yours win).",
        "",
        f"python = {toml_string(definition.python)}",
        f"requirements = {_toml_list(definition.requirements)}",
        f"packages = {_toml_list(definition.packages)}",
    ]
    if definition.base_image is not None:
        lines.append(f"base_image = {toml_string(definition.base_image)}")
    lines.append(f"description = {toml_string(definition.description)}")
    if definition.constraints is not None:
        lines.append(f"constraints = {toml_string(definition.constraints)}")
    return "\n".join(lines) + "\n"


def _check_items(kind: str, values: Sequence[str]) -> list[str]:
    cleaned = []
    for value in values:
        item = value.strip()
        if not item or "\n" in item or "\r" in item:
            raise CliError(f"{kind} {value!r} is empty or spans several lines", f"pass one {kind} per option")
        cleaned.append(item)
    return cleaned


def create_definition(
    environments_path: Path,
    name: str,
    *,
    python: str,
    requirements: Sequence[str],
    packages: Sequence[str] = (),
    base_image: str | None = None,
    description: str = "",
    constraints_text: str | None = None,
) -> Path:
    """Write ``<environments_path>/<name>/environment.toml``; refuse to overwrite an existing one.

    ``constraints_text`` goes into ``constraints.txt`` next to it, which the definition then names.
    """
    validate_name(name)
    parse_request(python)
    definition = EnvironmentDefinition(
        python=python.strip(),
        requirements=_check_items("requirement", requirements),
        packages=_check_items("package", packages),
        base_image=base_image or None,
        description=description,
        constraints=CONSTRAINTS_FILE if constraints_text is not None else None,
    )
    path = definition_path(environments_path, name)
    if path.exists():
        raise CliError(
            f"environment {name!r} already exists: {path}",
            f"edit that file and run `isolationctl env build {name}`, or choose another name",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x", encoding="utf-8") as handle:
            handle.write(render_definition(name, definition))
    except FileExistsError as exc:
        raise CliError(
            f"environment {name!r} was created concurrently: {path}", "use it or pick another name"
        ) from exc
    try:
        load_definition(environments_path, name)
    except IsolationEnvironmentError:
        path.unlink()
        raise
    if constraints_text is not None:
        (path.parent / CONSTRAINTS_FILE).write_text(constraints_text, encoding="utf-8")
    return path
