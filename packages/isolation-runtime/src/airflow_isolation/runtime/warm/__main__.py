"""``python -m airflow_isolation.runtime.warm``: the warm runtime's process (``warm.server``)."""

import sys

from airflow_isolation.runtime.warm.server import main

sys.exit(main())
