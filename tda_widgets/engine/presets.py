"""The study's own settings as presets, one word each, declared once.

Purvine et al. (AAAI 2023) ran two pipelines on a CIFAR-10 ResNet-18; their research scripts
(PNNL, public; cited below by the scripts' own opening lines and function names) fix every
setting. A preset here is those settings as the package's own declared specs
(:class:`~tda_widgets.clouds.CloudSpec`, :class:`~tda_widgets.topology.PersistenceSpec`,
:class:`~tda_widgets.topology.DistanceSpec`, :class:`~tda_widgets.topology.MapperSpec`), plus
the layers and the number of images, each with the source of its value (:attr:`Preset.sources`).
``Study(model, images, preset="ph")``, ``study.compare(preset="ph")``,
``study.mapper(layer, preset="mapper")``, :func:`tda_widgets.report.build_report` and
``python -m tda_widgets report --preset ph`` all read :data:`STUDY_PRESETS`; nothing repeats a
value.

========  =============================================================================================
preset    settings (source)
========  =============================================================================================
``ph``    every ``nn.Conv2d`` output (before BatchNorm and ReLU); ``image-top-l2`` clouds, every image
          kept (no subsample, no standardising, no projection); 1,000 images; Vietoris-Rips H0-H1 with
          ripser's defaults; layers compared by persim's sliced Wasserstein distance (M = 50 directions)
          on **H1 only**; **no rescaling** of the clouds.
``mapper``  every BatchNorm output with ReLU applied (``CloudSpec(activation="relu")``); one seeded
          random position per image (``image-random-position``); lens: the l2 norm of each point;
          10 intervals, 50 % overlap; DBSCAN with ``min_samples=5`` and ``eps`` at the knee of the
          sorted nearest-neighbour distances (``eps="knee"``).
========  =============================================================================================

Sources (the study's scripts):

- PH script, opening "Code for constructing point cloud summaries and computing PH using top
  $l^2$-norm sampling": ``hook_conv_layers`` hooks every module that is an ``nn.Conv2d`` (whose
  name contains "conv") through ``create_feature_extractor``, so the outputs are taken before
  BatchNorm and ReLU; ``top_activations`` is ``image-top-l2``; ``compute_persistence`` calls
  ``ripser(pointcloud)`` with its defaults (``maxdim=1``) on the raw clouds; the batch size
  ``-b`` defaults to 1000 with ``-n 1`` batch, i.e. 1,000 CIFAR-10 test images.
- Sliced Wasserstein script, opening "Code for computing SW distances between PDs":
  ``SW_dist_internal`` and ``SW_dist_cross_model`` call
  ``persim.sliced_wasserstein(PH[layer_i]['dgms'][1], PH[layer_j]['dgms'][1])`` (H1 only,
  default ``M=50``) on the unscaled diagrams; ``num_models = 100`` seeds in the cross mode.
- Mapper scripts (``get_mapper_graph`` in their ``mapper_CLI``): ``filter_str = "l2norm"``,
  ``DBSCAN(eps=eps, min_samples=min_samples)`` with ``min_samples = 5``,
  ``Cover(n_cubes=interval, perc_overlap=overlap / 100)`` with the argparse defaults
  ``--interval 10`` and ``--overlap 50``; ``eps = elbow_eps(...)`` from ``get_knn.py`` (the knee;
  see :mod:`tda_widgets.topology.mapper`); activations ``F.relu`` of the hooked BatchNorm outputs.
- Issue 19 of this project states the same values (BatchNorm outputs + ReLU, one random position
  per image for mapper).

Where this package's defaults differ (and why): its clouds are subsampled to 500 points and
rescaled to unit median distance before persistence, and layers are compared on H0 and H1, so
that layers of very different activation sizes are compared by shape (DESIGN.md, "Compare
shape, not scale"); the study's PH preset does neither. The study's 1,000 images were the first
batch of a shuffled test loader; here a seeded, class-balanced sample of 1,000
(``Study(n_images=...)``), or every image when there are fewer.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Optional

from ..clouds.make import CloudSpec
from ..core.errors import TDAInputError
from ..core.options import NOT_GIVEN, NotGiven, is_given
from ..topology.distances import DistanceSpec
from ..topology.mapper import MapperSpec
from ..topology.persistence import PersistenceSpec

__all__ = ["Preset", "STUDY_PRESETS", "get", "names", "apply", "apply_spec", "resolve", "NOT_GIVEN"]


@dataclass(frozen=True)
class Preset:
    """One pipeline's settings, as the package's declared specs, with the source of each value.

    Attributes
    ----------
    name : str
        The one word that selects it (``Study(preset=name)``, ``--preset name``).
    description : str
        One line.
    layers : str
        A layer preset of :func:`tda_widgets.layers.select_layers` ("conv", "batchnorm").
    n_images : int or None
        How many images (at most; fewer when fewer are given).
    cloud : CloudSpec
        How each layer becomes a point cloud.
    persistence : PersistenceSpec or None
        Persistence settings (None: the preset does not set them).
    distance : DistanceSpec or None
        Layer-distance settings (None: not set).
    mapper : MapperSpec or None
        Mapper settings (None: not set).
    sources : dict
        ``{setting: where its value comes from}``; every setting of the preset has one.
    """

    name: str
    description: str
    layers: str
    n_images: Optional[int]
    cloud: CloudSpec
    persistence: Optional[PersistenceSpec] = None
    distance: Optional[DistanceSpec] = None
    mapper: Optional[MapperSpec] = None
    sources: dict = field(default_factory=dict)

    def compare_kwargs(self) -> dict:
        """The keyword arguments of :meth:`Study.compare` / :meth:`Study.distance_matrix` this
        preset sets: ``spec`` and, when it sets them, ``metric``, ``dims`` and ``scale``."""
        kwargs: dict = {"spec": self.cloud}
        if self.distance is not None:
            kwargs.update(metric=self.distance.metric, dims=self.distance.dims, infinite=self.distance.infinite)
        if self.persistence is not None:
            kwargs["scale"] = self.persistence.scale
        return kwargs

    def mapper_kwargs(self) -> dict:
        """The keyword arguments of :meth:`Study.mapper` this preset sets (``spec`` and, when it
        sets them, the mapper options)."""
        kwargs: dict = {"spec": self.cloud}
        if self.mapper is not None:
            kwargs.update(self.mapper.kwargs())
        return kwargs

    def values(self) -> dict:
        """Every argument this preset sets, by the name it has in the package's signatures: the
        specs (``cloud``, also called ``spec``; ``persistence``, ``distance``, ``mapper``) and
        their fields (``metric``, ``dims``, ``infinite``, ``scale``, ``lens``, ...), ``layers``
        and ``n_images``. Read by :func:`apply`."""
        out: dict = {"layers": self.layers, "n_images": self.n_images, "cloud": self.cloud, "spec": self.cloud,
                     **self.cloud.kwargs()}
        for name in ("persistence", "distance", "mapper"):
            spec = getattr(self, name)
            if spec is not None:
                out[name] = spec
                out.update(spec.kwargs())
        out.pop("maxdim", None)  # derived from dims by the steps; never a method's argument
        out.pop("backend", None)
        return out

    def settings(self) -> list[tuple[str, str, str]]:
        """``(setting, value, source)`` rows, for the report and the documentation."""
        values = {"layers": self.layers, "n_images": self.n_images}
        for spec in (self.cloud, self.persistence, self.distance, self.mapper):
            if spec is not None:
                values.update(spec.kwargs())
        return [(name, repr(values[name]), self.sources.get(name, "the package's default"))
                for name in values]


_PH_SCRIPT = "the study's PH script ('Code for constructing point cloud summaries and computing PH using top " \
             "$l^2$-norm sampling')"
_SW_SCRIPT = "the study's sliced Wasserstein script ('Code for computing SW distances between PDs')"
_MAPPER_SCRIPT = "the study's mapper scripts (get_mapper_graph in mapper_CLI)"

#: The study's two pipelines, by name (see the module docstring for every source).
STUDY_PRESETS: dict[str, Preset] = {
    "ph": Preset(
        name="ph",
        description="Purvine et al.'s persistent homology: every Conv2d, top-l2 clouds of 1,000 images, "
                    "sliced Wasserstein on H1, no rescaling",
        layers="conv",
        n_images=1000,
        cloud=CloudSpec(mode="image-top-l2", max_points=None, subsample="random", standardize=False,
                        projection=None, activation=None),
        persistence=PersistenceSpec(maxdim=1, scale="none", backend="auto"),
        distance=DistanceSpec(metric="sliced-wasserstein", dims=(1,), infinite="match"),
        sources={
            "layers": f"{_PH_SCRIPT}: hook_conv_layers, every nn.Conv2d (before BatchNorm and ReLU)",
            "n_images": f"{_PH_SCRIPT}: argparse -b 1000 (batch size), -n 1 (one batch)",
            "mode": f"{_PH_SCRIPT}: top_activations (the position of largest l2 norm per image)",
            "max_points": f"{_PH_SCRIPT}: every image's point is kept (no subsample)",
            "subsample": "unused: every point is kept (max_points=None)",
            "n_components": "unused: no projection",
            "seed": "unused by image-top-l2 (its positions are not random); seeds only the image sample",
            "standardize": f"{_PH_SCRIPT}: ripser on the raw cloud",
            "projection": f"{_PH_SCRIPT}: ripser on the raw cloud",
            "activation": f"{_PH_SCRIPT}: the Conv2d output itself",
            "maxdim": f"{_PH_SCRIPT}: compute_persistence, ripser's default maxdim=1",
            "scale": f"{_SW_SCRIPT}: distances between the unscaled diagrams",
            "backend": "identical diagrams from either backend (ripser.py in the study)",
            "metric": f"{_SW_SCRIPT}: persim.sliced_wasserstein (default M=50 directions)",
            "dims": f"{_SW_SCRIPT}: PH[layer]['dgms'][1], H1 only",
            "infinite": "H1 diagrams of Vietoris-Rips have no infinite bars (the policy never applies)",
        },
    ),
    "mapper": Preset(
        name="mapper",
        description="Purvine et al.'s mapper: BatchNorm outputs after ReLU, one random position per image, "
                    "l2-norm lens, 10 intervals, 50 % overlap, DBSCAN min_samples 5, eps at the knee",
        layers="batchnorm",
        n_images=None,
        cloud=CloudSpec(mode="image-random-position", max_points=None, activation="relu"),
        mapper=MapperSpec(lens="l2norm", n_cubes=10, overlap=0.5, clusterer="dbscan", eps="knee", min_samples=5),
        sources={
            "layers": f"{_MAPPER_SCRIPT}: activations of the BatchNorm layers (issue 19: 'mapper on every "
                      "BatchNorm output with ReLU applied')",
            "n_images": "every image given (the study used CIFAR-10 images; no number is fixed)",
            "mode": "issue 19: one random spatial position per image (the study's random-position cloud)",
            "max_points": "every image's point is kept",
            "subsample": "unused: every point is kept (max_points=None)",
            "standardize": f"{_MAPPER_SCRIPT}: 'No normalization' of the activations",
            "projection": f"{_MAPPER_SCRIPT}: the full activation vectors are clustered",
            "n_components": "unused: no projection",
            "seed": "the seed of the random positions (the study's is not published; 0 here)",
            "activation": f"{_MAPPER_SCRIPT}: F.relu applied to the hooked activations",
            "lens": f"{_MAPPER_SCRIPT}: filter_str = 'l2norm'",
            "n_cubes": f"{_MAPPER_SCRIPT}: Cover(n_cubes=interval), argparse --interval default 10",
            "overlap": f"{_MAPPER_SCRIPT}: Cover(perc_overlap=overlap / 100), argparse --overlap default 50",
            "clusterer": f"{_MAPPER_SCRIPT}: DBSCAN(eps=eps, min_samples=min_samples)",
            "eps": "the study's get_knn.py elbow_eps: the knee of the sorted nearest-neighbour distances",
            "min_samples": f"{_MAPPER_SCRIPT}: min_samples = 5",
        },
    ),
}


def names() -> list[str]:
    """The preset names."""
    return list(STUDY_PRESETS)


def get(name: str) -> Preset:
    """The preset called ``name``.

    Raises
    ------
    TDAInputError
        For an unknown name, listing the presets and the closest one.

    Examples
    --------
    >>> get("ph").distance.metric
    'sliced-wasserstein'
    """
    if isinstance(name, Preset):
        return name
    if not isinstance(name, str) or name not in STUDY_PRESETS:
        close = difflib.get_close_matches(str(name).lower(), names(), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        listing = "; ".join(f"{key!r}: {preset.description}" for key, preset in STUDY_PRESETS.items())
        raise TDAInputError(f"The 'preset' parameter must be one of {names()}. Got {name!r} instead.{hint} "
                            f"The presets: {listing}.")
    return STUDY_PRESETS[name]


def apply(preset, given: dict) -> dict:
    """The one rule by which a study preset meets arguments (the Study, the explorers, the
    report, the magics and the command line all call it): each argument that is
    :class:`~tda_widgets.options.NotGiven` takes the preset's value when the preset sets it, else
    its declared default (the marker's); every given argument is kept as it is, even one equal
    to its default.

    Parameters
    ----------
    preset : str, Preset, None or False
        The study preset (None or False: none; every marker then becomes its default).
    given : dict
        The arguments as received, ``NotGiven`` markers for those left out.

    Returns
    -------
    dict
        ``given`` with every marker replaced by a value.

    Examples
    --------
    >>> from tda_widgets.options import NotGiven
    >>> apply("ph", {"metric": NotGiven("bottleneck"), "scale": "median"})
    {'metric': 'sliced-wasserstein', 'scale': 'median'}
    >>> apply(None, {"metric": NotGiven("bottleneck")})
    {'metric': 'bottleneck'}
    """
    values = get(preset).values() if preset is not None and preset is not False else {}
    return {name: (values.get(name, value.default) if isinstance(value, NotGiven) else value)
            for name, value in given.items()}


def apply_spec(preset, name: str, spec_cls, spec, **keywords):
    """One step's spec from a preset, a spec and the keyword sugar: ``spec`` when given, else the
    preset's spec called ``name`` (else ``spec_cls()``), with every *given* keyword replacing
    its field (validated by the spec). ``Study.mapper(layer, mapper=MapperSpec(n_cubes=5))`` and
    ``Study.mapper(layer, n_cubes=5)`` give the same spec."""
    base = apply(preset, {name: spec})[name]
    base = spec_cls() if base is None else base
    if not isinstance(base, spec_cls):
        from ..core.errors import TDATypeError

        raise TDATypeError(f"The '{name}' parameter must be a {spec_cls.__name__}. Got {type(base).__name__} "
                           f"instead; build one with {spec_cls.__name__}(...).")
    changes = {key: value for key, value in keywords.items() if is_given(value)}
    return base.replace(**changes) if changes else base


def resolve(preset, given: dict, defaults: dict) -> dict:
    """Older form of :func:`apply`, for arguments without markers: an argument equal to its
    ``defaults`` entry counts as not given. Prefer :func:`apply` with
    :class:`~tda_widgets.options.NotGiven` markers, which tells the two apart."""
    marked = {name: (NotGiven(value) if name in defaults and _same(value, defaults[name]) else value)
              for name, value in given.items()}
    return apply(preset, marked)
def _same(a, b) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # arrays and the like: never "the default"
        return False
