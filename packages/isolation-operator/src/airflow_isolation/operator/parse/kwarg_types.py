"""Parse-time type check of the wrapped operator's arguments, from its constructor annotations.

``BashOperator(bash_command=5)`` would otherwise fail minutes later in the target. Annotations are
read as text (operators use ``from __future__ import annotations`` and import names only for type
checkers, so evaluating them fails), and only plain values (str, int, list, dict…) are checked
against annotations made only of plain types: anything this cannot judge is let through.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from airflow_isolation.operator.parse.signature import parameter_annotation

_COLLECTIONS = (list, tuple, set, frozenset, dict, str)
_ACCEPTS: Dict[str, Tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "bytes": (bytes,),
    "None": (type(None),),
    "NoneType": (type(None),),
    "dict": (dict,),
    "Dict": (dict,),
    "Mapping": (dict,),
    "MutableMapping": (dict,),
    "list": (list,),
    "List": (list,),
    "MutableSequence": (list,),
    "tuple": (tuple,),
    "Tuple": (tuple,),
    "set": (set, frozenset),
    "Set": (set, frozenset),
    "frozenset": (set, frozenset),
    "FrozenSet": (set, frozenset),
    "AbstractSet": (set, frozenset),
    "Sequence": (list, tuple, str),
    "Collection": _COLLECTIONS,
    "Iterable": _COLLECTIONS,
    "Container": _COLLECTIONS,
}
_NEVER_A_PLAIN_VALUE = {"ArgNotSet", "ArgNotSetType"}  # Airflow's "not given" sentinel type
_PLAIN_VALUES = (str, int, float, bool, bytes, list, tuple, set, frozenset, dict)


def check_kwarg_types(
    cls: type, kwargs: Dict[str, Any], template_fields: Sequence[str], where: str, name: str
) -> None:
    for key, value in kwargs.items():
        if type(value) not in _PLAIN_VALUES:
            continue
        if key in template_fields and isinstance(value, str) and "{{" in value:
            continue  # rendered at run time; its type is the rendered value's
        annotation = parameter_annotation(cls, key)
        accepted = _accepted_types(annotation) if annotation is not None else None
        if accepted is not None and not isinstance(value, accepted):
            raise TypeError(
                f"{where}: {name} argument {key}={value!r} has type {type(value).__name__}, but {name} "
                f"declares {key}: {annotation}. Pass a value of that type."
            )


def _accepted_types(annotation: str) -> Optional[Tuple[type, ...]]:
    """The plain types ``annotation`` allows, or None when it allows something we cannot judge."""
    accepted: List[type] = []
    for alternative in _alternatives(annotation):
        base = alternative.split("[", 1)[0].strip().rpartition(".")[2]
        if base in _NEVER_A_PLAIN_VALUE:
            continue
        if base not in _ACCEPTS:
            return None
        accepted.extend(_ACCEPTS[base])
    return tuple(accepted) or None


def _alternatives(annotation: str) -> Iterable[str]:
    text = annotation.strip().strip("'\"")
    for prefix, splitter in (("Optional[", None), ("Union[", ",")):
        if text.startswith(prefix) and text.endswith("]"):
            inner = text[len(prefix) : -1]
            parts = _split_top_level(inner, splitter) if splitter else [inner, "None"]
            return [alt for part in parts for alt in _alternatives(part)]
    return [part.strip() for part in _split_top_level(text, "|")]


def _split_top_level(text: str, separator: str) -> List[str]:
    parts, depth, current = [], 0, []
    for char in text:
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
