"""What ``doctor`` and ``env list`` report: build states read from files, and the health checks."""
