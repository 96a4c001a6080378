"""Makes the runtime tests' shared helpers importable (the repository runs pytest in importlib mode)."""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
