"""The task's own modules, shipped from the host's DAGs and plugins folders, imported in the target."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from runtime_test_support import callable_from_source, run

from airflow_isolation.core import OperatorSpec, ShippedModule
from airflow_isolation.runtime.facets import shipped_modules

MY_OPS = b"""
from airflow.models.baseoperator import BaseOperator

from helpers.fmt import shout


class MyOperator(BaseOperator):
    def __init__(self, word, **kwargs):
        super().__init__(**kwargs)
        self.word = word

    def execute(self, context):
        return shout(self.word)
"""
HELPERS = [
    ShippedModule("helpers/__init__.py", b""),
    ShippedModule("helpers/fmt.py", b"def shout(word):\n    return word.upper() + '!'\n"),
]


def test_a_shipped_operator_and_its_helper_run(tmp_path: Path) -> None:
    code, out, result = run(
        OperatorSpec("my_ops.MyOperator", {"word": "hello"}),
        tmp_path,
        modules=[ShippedModule("my_ops.py", MY_OPS), *HELPERS],
    )
    assert code == 0, out
    assert result.return_value == "HELLO!"
    assert not list(tmp_path.glob("isolation-modules-*"))


def test_a_callable_imports_a_shipped_helper(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f():
            from helpers.fmt import shout
            from plugin_utils import TOKEN
            return shout("x") + TOKEN
    """)
    modules = [*HELPERS, ShippedModule("plugin_utils.py", b"TOKEN = 'p'\n", root="plugins")]
    code, out, result = run(fn, tmp_path, modules=modules)
    assert code == 0, out
    assert result.return_value == "X!p"


def test_a_missing_module_names_itself_and_the_fix(tmp_path: Path) -> None:
    source = MY_OPS.replace(b"from helpers.fmt import shout", b"from not_shipped_helpers import shout")
    code, _, result = run(
        OperatorSpec("my_ops.MyOperator", {"word": "x"}),
        tmp_path,
        modules=[ShippedModule("my_ops.py", source)],
    )
    assert code != 0
    assert result.error is not None
    assert result.error.type.endswith("ModuleNotFoundError")
    message = result.error.message
    assert "No module named 'not_shipped_helpers'" in message
    assert "shipped from the DAGs folder on the host: my_ops" in message
    assert "requirements" in message and "DAGs folder or the plugins folder" in message


def test_an_operator_module_not_shipped_says_so(tmp_path: Path) -> None:
    code, _, result = run(OperatorSpec("absent_ops.MyOperator", {}), tmp_path)
    assert code != 0 and result.error is not None
    assert "No module named 'absent_ops'" in result.error.message
    assert "no module was shipped from the host's DAGs or plugins folders" in result.error.message


@pytest.mark.parametrize("path", ["../evil.py", "/etc/evil.py", "a/../../evil.py", "", "a\\b.py"])
def test_paths_outside_the_folder_are_refused(path: str, tmp_path: Path) -> None:
    with pytest.raises(shipped_modules.ShippedModuleError, match="not a relative path"):
        shipped_modules.check_paths([ShippedModule(path, b"")])
    fn = callable_from_source("def f():\n    return 1\n")
    code, _, result = run(fn, tmp_path, modules=[ShippedModule(path, b"")])
    assert code != 0 and result.error is not None
    assert "not a relative path" in result.error.message


def test_the_folder_is_private_first_on_the_path_and_removed() -> None:
    with shipped_modules.installed([ShippedModule("pkg/mod.py", b"X = 1\n")]) as folder:
        assert folder is not None
        assert sys.path[0] == str(folder)
        assert folder.stat().st_mode & 0o777 == 0o700
        assert (folder / "pkg" / "mod.py").read_bytes() == b"X = 1\n"
    assert not folder.exists() and str(folder) not in sys.path
