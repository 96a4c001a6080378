"""How a runtime process ends once the entrypoint has returned its exit code.

With ``os._exit``, as Airflow's own forked task runners do: tearing down Airflow's import graph at
interpreter exit costs about 0.3 s per task and can only run finalisers of code that has already
finished. ``logging`` is flushed only when something imported it: a plain callable's run never
needs it (importing it costs more than the rest of the runtime's own modules). A warm runtime's
child ends the same way, which also keeps it from ever returning into the warm runtime's loop.
"""

import os
import sys
from typing import NoReturn


def flush_output() -> None:
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    sys.stdout.flush()
    sys.stderr.flush()


def end_process(code: int) -> NoReturn:
    flush_output()
    os._exit(code)
