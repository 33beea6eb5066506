"""Lookout's shared library: `contracts` (what services exchange) and `infra` (how a
service runs). Its version is the distribution's (`importlib.metadata`)."""
