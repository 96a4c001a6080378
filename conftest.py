"""Repository-wide pytest setup.

``testing/`` (the rule for real components every suite shares) is put on the path. Airflow reads
``AIRFLOW_HOME`` once, at import: point it at a throwaway folder before any test
module imports Airflow, so tests never touch a developer's real Airflow installation.
"""

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "testing"))  # real_components

if "ISOLATION_TEST_AIRFLOW_HOME" not in os.environ:
    os.environ["ISOLATION_TEST_AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="isolation-test-airflow-home-")
os.environ["AIRFLOW_HOME"] = os.environ["ISOLATION_TEST_AIRFLOW_HOME"]
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
