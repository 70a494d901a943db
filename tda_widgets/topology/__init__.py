"""Topology: persistence, diagram distances, CKA and mapper as pure functions on numpy arrays.

This subpackage imports neither torch nor ipywidgets (a test checks it).
"""
