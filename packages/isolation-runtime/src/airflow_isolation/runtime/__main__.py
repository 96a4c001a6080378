"""Process entry point.

The process ends with ``os._exit`` once the result is written and output flushed, as Airflow's own
forked task runners do: tearing down Airflow's import graph at interpreter exit costs about 0.3 s
per task and can only run finalisers of code that has already finished. ``logging`` is flushed
only when something imported it: a plain callable's run never needs it (importing it costs more
than the rest of the runtime's own modules).
"""

import os
import sys

from airflow_isolation.runtime.entrypoint import main

code = main()
if "logging" in sys.modules:
    sys.modules["logging"].shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
