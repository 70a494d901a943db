"""The package's version, defined once, in a module of its own so that any floor may read it
without importing the package's top: ``pyproject.toml`` reads it (setuptools' dynamic version),
``tda_widgets.__version__`` re-exports it, and the docs, CITATION.cff and the changelog's newest
release must agree with it (tests/packaging/test_metadata.py)."""

__version__ = "0.1.0"
