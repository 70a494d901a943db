"""Pure Plotly figure builders: data in, ``plotly.graph_objects.Figure`` out.

No ipywidgets and no torch are imported here (a test checks it). Every trace is named, and a
builder's trace structure depends only on its options, never on the data, so that a widget
can wrap a figure in a ``FigureWidget`` and update it in place with ``selector={"name": ...}``.
"""

from .diagrams import (
    CUSTOMDATA_COLUMNS,
    barcode_figure,
    diagram_point_to_bar,
    matching_figure,
    persistence_diagram_figure,
)
from .crossmodel import cross_model_figure, identification_figure
from .export import IMAGE_FORMATS, write_html, write_image
from .filtration import MAP_COLORINGS, filtration_cursor, filtration_figure, layer_map_figure
from .heatmaps import CKA_DISPLAYS, SCALE_NOTES, layer_distance_figure, measures_table_figure
from .hierarchy import class_tree_figure
from .mapper import (COLOR_BY, mapper_graph_figure, mapper_layout, node_marker_sizes, purity_by_layer_figure,
                     ringed_nodes)
from .results import checkpoint_grid_figure, point_cloud_figure
from .sensitivity import sensitivity_figure
from .thumbnails import (
    EMPTY_SELECTION_TEXT,
    sprite_sheet,
    thumbnail_grid_figure,
    tile_index_at,
    to_uint8_images,
)

__all__ = [
    "IMAGE_FORMATS",
    "write_html",
    "write_image",
    "MAP_COLORINGS",
    "filtration_cursor",
    "filtration_figure",
    "layer_map_figure",
    "class_tree_figure",
    "CKA_DISPLAYS",
    "COLOR_BY",
    "CUSTOMDATA_COLUMNS",
    "EMPTY_SELECTION_TEXT",
    "SCALE_NOTES",
    "barcode_figure",
    "checkpoint_grid_figure",
    "cross_model_figure",
    "identification_figure",
    "diagram_point_to_bar",
    "layer_distance_figure",
    "mapper_graph_figure",
    "mapper_layout",
    "ringed_nodes",
    "measures_table_figure",
    "matching_figure",
    "node_marker_sizes",
    "persistence_diagram_figure",
    "point_cloud_figure",
    "purity_by_layer_figure",
    "sensitivity_figure",
    "sprite_sheet",
    "thumbnail_grid_figure",
    "tile_index_at",
    "to_uint8_images",
]
