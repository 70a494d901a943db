"""The package's version, in a module of its own so that any floor may read it without
importing the package's top (tda_widgets/__init__.py)."""

__version__ = "0.1.0"
