"""Lookout's shared package: the contracts every service builds on."""

__version__ = "0.1.0"
