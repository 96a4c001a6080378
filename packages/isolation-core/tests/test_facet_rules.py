"""Only a facet reads or writes its own schema fields, on either side.

``core.facets`` gives each feature that crosses the boundary its fields; the host half of a facet is
a class in ``operator/facets/<name>.py`` and the target half one in ``runtime/facets/<name>.py``,
each marked ``facet = BY_NAME["<name>"]``. Were a field read anywhere else, a feature would again
thread through the request builder, the result handler and the entry point, and the older-runtime
check (which knows a feature by its facet) could miss what a task relies on. This scans the code as
``test_launch_rules.py`` does: any attribute or keyword argument spelt like a facet's field, outside
that facet's modules, is reported.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

import msgspec
import pytest

from airflow_isolation.core import schema
from airflow_isolation.core.facets import FACETS

PACKAGES = Path(__file__).resolve().parents[2]
SIDES = {
    "operator": PACKAGES / "isolation-operator" / "src" / "airflow_isolation" / "operator",
    "runtime": PACKAGES / "isolation-runtime" / "src" / "airflow_isolation" / "runtime",
}
ATTRIBUTE_FUNCTIONS = {"getattr", "setattr", "hasattr", "delattr"}

ALLOWED: Set[Tuple[str, str]] = {
    ("sys", "modules"),
}
"""``(object, name)`` pairs spelt like a field that are not one: ``sys.modules`` is Python's table of
imported modules (the code shipping and loading modules reads it), not ``IsolationRequest.modules``."""


def _field_owners() -> Dict[str, Set[str]]:
    """Each field's bare name (``inlets``), and the facets owning a field of that name."""
    owners: Dict[str, Set[str]] = {}
    for facet in FACETS:
        for field in facet.fields:
            owners.setdefault(field.rpartition(".")[2], set()).add(facet.name)
    return owners


OWNERS = _field_owners()


def _modules(side: str) -> Iterator[Path]:
    yield from sorted(SIDES[side].rglob("*.py"))


def _marked_facet(node: ast.stmt) -> Optional[str]:
    """``facet: ClassVar[Facet] = BY_NAME["x"]`` (or ``facet = BY_NAME["x"]``) in a class body: ``x``."""
    if isinstance(node, ast.AnnAssign):
        target, value = node.target, node.value
    elif isinstance(node, ast.Assign) and len(node.targets) == 1:
        target, value = node.targets[0], node.value
    else:
        return None
    if not (isinstance(target, ast.Name) and target.id == "facet" and isinstance(value, ast.Subscript)):
        return None
    if not (isinstance(value.value, ast.Name) and value.value.id == "BY_NAME"):
        return None
    key = value.slice
    return key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None


def facets_of(tree: ast.AST) -> Set[str]:
    """The facets a module's classes are the halves of."""
    return {
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for statement in node.body
        for name in [_marked_facet(statement)]
        if name is not None
    }


def _receiver(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else ""


def field_uses(tree: ast.AST) -> Iterator[Tuple[int, str, str]]:
    """``(line, name, how)`` of every attribute, keyword argument, or ``getattr``-like string spelt
    like a facet field."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in OWNERS:
            if (_receiver(node.value), node.attr) not in ALLOWED:
                yield node.lineno, node.attr, f"attribute .{node.attr}"
        elif isinstance(node, ast.keyword) and node.arg in OWNERS:
            yield getattr(node, "lineno", 0), node.arg, f"keyword {node.arg}="
        elif (
            isinstance(node, ast.Call)
            and _receiver(node.func) in ATTRIBUTE_FUNCTIONS
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in OWNERS
        ):
            yield node.lineno, str(node.args[1].value), f"{_receiver(node.func)}(..., {node.args[1].value!r})"


def violations(side: str) -> List[str]:
    found: List[str] = []
    for path in _modules(side):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        own = facets_of(tree)
        for line, name, how in sorted(field_uses(tree)):
            if not OWNERS[name] & own:
                where = f"{path.relative_to(PACKAGES)}:{line}"
                found.append(f"{where}: {how} belongs to facet {'/'.join(sorted(OWNERS[name]))}")
    return found


def facet_modules(side: str) -> Dict[str, List[str]]:
    """Each facet name, and the modules of ``side`` marked as its half."""
    found: Dict[str, List[str]] = {}
    for path in _modules(side):
        for name in facets_of(ast.parse(path.read_text(encoding="utf-8"))):
            found.setdefault(name, []).append(path.relative_to(SIDES[side]).as_posix())
    return found


def test_every_facet_field_is_a_schema_field() -> None:
    unknown = []
    for facet in FACETS:
        for field in facet.fields:
            struct_name, _, name = field.partition(".")
            struct = getattr(schema, struct_name, None)
            if (
                not (isinstance(struct, type) and issubclass(struct, msgspec.Struct))
                or name not in struct.__struct_fields__
            ):
                unknown.append(f"{facet.name}: {field}")
    assert not unknown, "core.facets names fields the schema does not have:\n" + "\n".join(unknown)


def test_the_rule_sees_a_violation() -> None:
    tree = ast.parse(
        "def f(result):\n    return result.skip_downstream, make(inlets=[]), getattr(x, 'branch')\n"
    )
    assert {name for _line, name, _how in field_uses(tree)} == {"skip_downstream", "inlets", "branch"}
    assert list(field_uses(ast.parse("import sys\nsys.modules.get('x')\n"))) == []
    marked = ast.parse('class Skips:\n    facet: ClassVar[Facet] = BY_NAME["downstream_skips"]\n')
    assert facets_of(marked) == {"downstream_skips"}


@pytest.mark.parametrize("side", sorted(SIDES))
def test_each_facet_has_one_half_per_side_named_after_it(side: str) -> None:
    halves = facet_modules(side)
    wrong = [
        f"facet {facet.name}: {halves.get(facet.name) or 'no module'} (expected facets/{facet.name}.py)"
        for facet in FACETS
        if halves.get(facet.name) != [f"facets/{facet.name}.py"]
    ]
    assert not wrong, f"{side}: each facet is one class in {side}/facets/<name>.py:\n" + "\n".join(wrong)


@pytest.mark.parametrize("side", sorted(SIDES))
def test_only_a_facet_reads_or_writes_its_fields(side: str) -> None:
    found = violations(side)
    assert not found, (
        f"{side}: these read or write a facet's schema field outside that facet's module "
        f"({side}/facets/<name>.py); move the code into the facet, or give the facet a method "
        "the caller uses:\n" + "\n".join(found)
    )
