import sys

from airflow_isolation.runtime.entrypoint import main

sys.exit(main())
