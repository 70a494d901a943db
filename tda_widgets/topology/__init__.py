"""Topology: persistence, diagram distances, CKA, mapper and the other representational
similarity measures (RTD, SVCCA, PWCCA, Procrustes, RSA) as pure functions on numpy arrays.

This subpackage imports neither torch nor ipywidgets (a test checks it).
"""

from .cka import KERNELS, CKASpec, cka_matrix, linear_cka, rank_correlation, rbf_cka
from .distances import (INFINITE_POLICIES, METRICS, DistanceSpec, diagram_distance, diagrams_distance, layer_distance_matrix,
                        matching)
from .mapper import MapperGraph, MapperNode, MapperSpec, default_eps, mapper_graph
from .identification import best_matches, identified_layers
from .sensitivity import SensitivityResult, pc_removal_sensitivity, remove_principal_components
from .persistence import BACKENDS, PersistenceResult, PersistenceSpec, bar_points, estimate_persistence_cost, persistence
from .exports import read_diagrams, read_node_link, write_diagrams, write_graphml, write_node_link
from .embedding import EMBEDDINGS, embed_2d, procrustes_align
from .filtration import RipsComplex, betti_numbers, representative_cycle, rips_complex
from .scaling import SCALES, pairwise_distances, refine_close_pairs, rescale_points, validate_cloud
from .agreement import MeasuresTable, depth_correlation, layer_monotonicity, measure_agreement, measures_table
from .similarity import (MEASURE_INFO, MEASURES, RSA_METRICS, MeasureInfo, SimilaritySpec, procrustes_distance, pwcca,
                         representation_similarity, rsa, rtd, similarity_matrix, svcca)

__all__ = [
    "persistence", "PersistenceResult", "bar_points", "estimate_persistence_cost", "BACKENDS",
    "diagram_distance", "diagrams_distance", "matching", "layer_distance_matrix", "METRICS", "INFINITE_POLICIES",
    "linear_cka", "rbf_cka", "cka_matrix", "rank_correlation", "KERNELS",
    "mapper_graph", "MapperGraph", "MapperNode", "default_eps",
    "rips_complex", "RipsComplex", "betti_numbers", "representative_cycle",
    "embed_2d", "procrustes_align", "EMBEDDINGS",
    "write_diagrams", "read_diagrams", "write_node_link", "read_node_link", "write_graphml",
    "pairwise_distances", "refine_close_pairs", "rescale_points", "validate_cloud", "SCALES",
    "rtd", "svcca", "pwcca", "procrustes_distance", "rsa", "representation_similarity", "similarity_matrix",
    "MEASURES", "MEASURE_INFO", "MeasureInfo", "RSA_METRICS",
    "PersistenceSpec", "DistanceSpec", "CKASpec", "MapperSpec", "SimilaritySpec",
    "measures_table", "MeasuresTable", "measure_agreement", "layer_monotonicity", "depth_correlation",
    "pc_removal_sensitivity", "remove_principal_components", "SensitivityResult",
    "best_matches", "identified_layers",
]
