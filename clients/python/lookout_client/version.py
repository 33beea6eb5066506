"""The package version, sent with every message as `context.library.version`."""

__version__ = "0.1.0"
