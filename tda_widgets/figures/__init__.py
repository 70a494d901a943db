"""Pure Plotly figure builders: data in, ``plotly.graph_objects.Figure`` out.

No ipywidgets and no torch are imported here (a test checks it).
"""
