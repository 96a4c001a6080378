"""What venv and image builds share: content hashes, the runtime to install, manifest writes."""
