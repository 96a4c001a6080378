"""The ``isolationctl`` commands, one module per command (a package per group, like ``env/``)."""
