"""Process entry point.

The process ends with ``os._exit`` once the result is written and output flushed, as Airflow's own
forked task runners do: tearing down Airflow's import graph at interpreter exit costs about 0.3 s
per task and can only run finalisers of code that has already finished.
"""

import logging
import os
import sys

from airflow_isolation.runtime.entrypoint import main

code = main()
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
