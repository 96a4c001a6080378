"""The ``isolationctl`` commands, one module per command group; ``main`` mounts them on the app."""
