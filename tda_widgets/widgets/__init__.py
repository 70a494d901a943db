"""Thin ipywidgets explorers over the study engine and the figure builders."""

from .dashboard import Dashboard
from .distances import LayerDistanceExplorer
from .mapper import MapperExplorer
from .persistence import PersistenceExplorer
from .thumbnails import ThumbnailPanel

__all__ = ["PersistenceExplorer", "LayerDistanceExplorer", "MapperExplorer", "Dashboard", "ThumbnailPanel"]
