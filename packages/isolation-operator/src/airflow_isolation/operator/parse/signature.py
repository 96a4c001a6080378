"""What the wrapped operator's constructors accept, read from the ``__init__`` of every class in its MRO.

Airflow operators pass most arguments up to ``BaseOperator`` through ``**kwargs``, so one class's
signature tells only part of the story: the accepted names, their annotations and their defaults
are spread over the whole MRO. An ``__init__`` whose signature cannot be read (a C extension, a
wrapped callable) is skipped rather than guessed at.
"""

from __future__ import annotations

import inspect
from typing import Any, Iterator, List, Mapping, Optional, Set, Tuple


def init_signatures(cls: type) -> Iterator[Tuple[type, Mapping[str, inspect.Parameter]]]:
    """``(class, parameters)`` of each class in the MRO that defines its own ``__init__``, nearest first."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            params = inspect.signature(init).parameters
        except (TypeError, ValueError):
            continue
        yield klass, params


def constructor_params(cls: type) -> Tuple[Set[str], Set[str]]:
    """Every keyword the constructors accept, and those ``cls`` itself requires (no default)."""
    accepted: Set[str] = set()
    required: Set[str] = set()
    for klass, params in init_signatures(cls):
        for p in params.values():
            if p.name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            accepted.add(p.name)
            if klass is cls and p.default is p.empty:
                required.add(p.name)
    return accepted, required


def parameter_annotation(cls: type, name: str) -> Optional[str]:
    """The annotation of parameter ``name`` as text, from the nearest ``__init__`` declaring it.

    Text because operators use ``from __future__ import annotations`` and import the names only for
    type checkers, so evaluating an annotation fails.
    """
    for _klass, params in init_signatures(cls):
        parameter = params.get(name)
        if parameter is not None:
            if parameter.annotation is inspect.Parameter.empty:
                return None
            text = parameter.annotation
            return text if isinstance(text, str) else inspect.formatannotation(text)
    return None


def default_conn_ids(cls: type, given: Mapping[str, Any]) -> List[str]:
    """The defaults of ``*conn_id`` parameters not in ``given`` (e.g. ``'postgres_default'``)."""
    found: List[str] = []
    for _klass, params in init_signatures(cls):
        found += [
            p.default
            for p in params.values()
            if p.name.endswith("conn_id") and p.name not in given and isinstance(p.default, str) and p.default
        ]
    return found
