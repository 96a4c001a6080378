"""``python -m airflow_isolation.runtime.standby``: a standby container's process (``standby.container``)."""

import sys
import traceback

from airflow_isolation.runtime.standby.container import main
from airflow_isolation.runtime.warm.child import EXIT_SETUP_FAILED

try:
    sys.exit(main())
except Exception:
    traceback.print_exc()
    sys.exit(EXIT_SETUP_FAILED)
