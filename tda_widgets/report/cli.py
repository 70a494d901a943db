"""The report's command line: ``python -m tda_widgets report`` and the notebook's ``%tda report``
share its flags (declared once, :func:`tda_widgets.core.options.add_arguments`); a flag left out
parses as a ``NotGiven`` marker that ``--preset`` fills (:func:`tda_widgets.engine.presets.apply`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

from ..clouds.make import CloudSpec
from ..core.errors import BudgetExceededError, Cancelled, TDAInputError, TDATypeError
from ..core.formatting import format_bytes
from ..core.options import NotGiven, add_arguments
from ..data.loaders import load_model_file
from ..engine.study import Study
from ..topology.distances import DistanceSpec
from ..topology.mapper import MapperSpec
from ..topology.persistence import PersistenceSpec
from .build import write_report

__all__ = ["add_report_parser", "add_report_settings", "check_report_settings", "write_report_from_args",
           "run_report"]


#: Images of a study of the user's own data when ``--n-images`` is not given (a class-balanced sample).
USER_IMAGES = 500


def add_report_parser(subparsers) -> Any:
    """Add the ``report`` command to an argparse subparsers object (``python -m tda_widgets``)."""
    parser = subparsers.add_parser(
        "report",
        help="write the study as a standalone HTML report (demo model, or your model and images)",
        description="Write the study (layer distances beside CKA, persistence diagrams, mapper graphs) "
                    "to one self-contained HTML file. Nothing is downloaded.",
    )
    source = parser.add_argument_group("model and images (choose --demo, --model, --model-file or --study)")
    source.add_argument("--demo", action="store_true", help="the embedded digits CNN and held-out digits")
    source.add_argument("--model", metavar="torchvision:NAME",
                        help="a torchvision architecture built with random weights, e.g. torchvision:resnet18")
    source.add_argument("--model-file", metavar="PATH.py:CLASS",
                        help="an nn.Module class in a Python file, instantiated without arguments "
                             "(with num_classes=N when --num-classes is given)")
    source.add_argument("--study", metavar="FILE.tda",
                        help="a study saved by Study.save (or --save): its report from the stored results, without "
                             "the model (settings left out are the ones the file was computed with)")
    source.add_argument("--checkpoint", metavar="FILE", help="weights to load (state dict or training checkpoint)")
    source.add_argument("--num-classes", type=int, default=None,
                        help="classifier outputs of --model (default: the number of class folders)")
    source.add_argument("--images", metavar="DIR",
                        help="an ImageFolder (DIR/<class>/<image>), or cifar10:ROOT / cifar100:ROOT")
    source.add_argument("--image-size", type=int, default=224, help="resize and crop ImageFolder images (224)")
    source.add_argument("--normalize", default=None,
                        help="imagenet, cifar10, cifar100 or none (default: imagenet for folders, the "
                             "dataset's own for CIFAR)")
    source.add_argument("--layers", help="comma-separated layer names (default: the model's children)")
    source.add_argument("--n-images", type=int, default=None,
                        help=f"class-balanced sample of this many images (default: {USER_IMAGES}; the demo: all "
                             "of its held-out images)")
    source.add_argument("--seed", type=int, default=0, help="seed of the image sample and the point clouds")
    source.add_argument("--seeds", default=None, metavar="1,2",
                        help="with --demo: also train the digits CNN with these seeds (deterministic, seconds each) "
                             "and add the section 'Across models' (PH and CKA between the layers of the shipped "
                             "model and of each seeded one, and the fraction of layers identified)")
    add_report_settings(parser.add_argument_group("study settings"))
    parser.add_argument("--save", default=None, metavar="FILE.tda",
                        help="also save the study (settings, fingerprints, every result) to this file, which "
                             "tda_widgets.open_study and --study open without the model")
    parser.set_defaults(func=run_report)
    return parser


_MAPPER_FLAGS = ("lens", "n_cubes", "overlap", "min_samples")


def add_report_settings(group) -> None:
    """The report's settings flags (``--metric``, ``--mode``, ``--points``, ``--scale``, the
    mapper's, ``--out``, ``--title``, ``--quiet``) on an argparse parser or group: shared by
    ``python -m tda_widgets report`` and the notebook's ``%tda report``."""
    from ..engine.presets import STUDY_PRESETS

    group.add_argument("--preset", choices=list(STUDY_PRESETS), default=None,
                       help="a study preset: its layers, images, cloud, distance and mapper settings (a flag left "
                            "out takes the preset's value; a flag given wins): "
                            # argparse formats help with %: the descriptions' "50 % overlap" crashed --help
                            + "; ".join(f"{name}: {p.description}" for name, p in STUDY_PRESETS.items())
                            .replace("%", "%%"))
    # flags, choices, defaults and help come from the options' declarations (tda_widgets.options)
    # a flag left out parses as a NotGiven marker, which presets.apply fills from --preset
    add_arguments(group, DistanceSpec, only=["metric"], not_given=True)
    add_arguments(group, CloudSpec, only=["mode", "max_points"], aliases={"max_points": ["--points"]}, not_given=True)
    add_arguments(group, PersistenceSpec, only=["scale"], not_given=True)
    add_arguments(group, MapperSpec, only=list(_MAPPER_FLAGS), not_given=True)
    group.add_argument("--out", default="report.html", help="the HTML file to write (report.html)")
    group.add_argument("--title", default=None)
    group.add_argument("--quiet", action="store_true", help="no progress bar")


def _value(value: Any) -> Any:
    """A flag's value: its default when it was left out (a NotGiven marker)."""
    return value.default if isinstance(value, NotGiven) else value


def check_report_settings(args) -> Path:
    """Check the flags of :func:`add_report_settings` before any computation; returns the
    output path."""
    # the declared rule (CloudSpec's), not one of the command line's own
    CloudSpec.check("the report's --points", max_points=_value(args.max_points))
    out = Path(args.out).expanduser()
    if not out.parent.is_dir():
        raise FileNotFoundError(f"--out: the folder {str(out.parent)!r} does not exist.")
    return out


def write_report_from_args(out: Path, study: Study, args, *, model_name: str, data_name: str,
                           other_models: Any = None) -> Path:
    """Write the report of ``study`` with the settings parsed by :func:`add_report_settings`
    (and ``args.seed``), with a progress bar unless ``--quiet``."""
    from tqdm.auto import tqdm

    from ..engine.presets import apply_spec

    preset = getattr(args, "preset", None) or None
    # the preset's cloud (else the declared one) with the fields whose flags were given
    spec = apply_spec(preset, "cloud", CloudSpec, NotGiven(None), mode=args.mode, max_points=args.max_points,
                      seed=args.seed)
    mapper_kwargs = {name: getattr(args, name) for name in _MAPPER_FLAGS}  # markers where a flag was left out
    bar = tqdm(total=1, desc="report", unit="step", disable=args.quiet)

    def progress(done, total, message):
        bar.total = total
        bar.n = done
        bar.set_postfix_str(message[:40])
        bar.refresh()

    try:
        return write_report(out, study, spec=spec, metric=args.metric, scale=args.scale, title=args.title,
                            mapper_kwargs=mapper_kwargs, preset=preset, model_name=model_name,
                            data_name=data_name, other_models=other_models, progress=progress)
    finally:
        bar.close()


def _user_study(args):
    """Model, dataset and Study from the --model/--model-file/--images arguments."""
    from ..engine.presets import get as get_preset
    from ..data.loaders import (
        TORCHVISION_MODELS,
        balanced_subset,
        cifar10,
        cifar100,
        image_folder,
        load_checkpoint,
        torchvision_model,
    )

    if args.images is None:
        raise TDAInputError("--images is required with --model/--model-file: an ImageFolder directory "
                            "(DIR/<class>/<image>) or cifar10:ROOT.")
    kind, _, rest = args.images.partition(":")
    if kind in ("cifar10", "cifar100") and rest:
        loader = cifar10 if kind == "cifar10" else cifar100
        dataset = loader(rest, train=False, normalize=args.normalize or kind)
        data_name = f"{kind.upper()} test set in {rest}"
    else:
        dataset = image_folder(args.images, image_size=args.image_size, normalize=args.normalize or "imagenet")
        data_name = f"image folder {args.images}"
    classes = list(getattr(dataset, "classes", []) or [])
    preset_images = get_preset(args.preset).n_images if getattr(args, "preset", None) else None
    n = (preset_images or USER_IMAGES) if args.n_images is None else args.n_images
    if n < 2:
        raise TDAInputError(f"--n-images must be at least 2. Got {n}.")
    if n < len(dataset):
        dataset = balanced_subset(dataset, n, seed=args.seed)
        data_name += f", class-balanced sample (seed {args.seed})"

    num_classes = args.num_classes or (len(classes) if classes else None)
    if args.model is not None:
        name = args.model.split(":", 1)[1] if args.model.startswith("torchvision:") else args.model
        if not args.model.startswith("torchvision:") and name not in TORCHVISION_MODELS:
            raise TDAInputError(f"--model must be torchvision:NAME with NAME one of {list(TORCHVISION_MODELS)}, "
                                f"or use --model-file path.py:ClassName. Got {args.model!r}.")
        model = torchvision_model(name, num_classes=num_classes or 1000)
        model_name = name
    else:
        model = load_model_file(args.model_file, args.num_classes)
        model_name = args.model_file.rsplit(":", 1)[1]
    if args.checkpoint is not None:
        load_checkpoint(model, args.checkpoint)
        model_name += f", weights {Path(args.checkpoint).name}"
    else:
        print("note: no --checkpoint given; the model has random weights.", file=sys.stderr)
    model.eval()
    layers = [s.strip() for s in args.layers.split(",") if s.strip()] if args.layers else None
    labels = getattr(dataset, "targets", None)
    study = Study(model, dataset, labels, layers, class_names=classes or None, preset=getattr(args, "preset", None))
    return study, model_name, data_name


def _stored_settings(study, args) -> None:
    """With ``--study``: each settings flag left out takes the value the file's results were computed
    with (its layer distances over every layer, then its mapper graphs of that cloud), so that the
    report of a study saved with ``--points 60`` needs no ``--points 60`` again."""
    from ..engine.saved import stored_keys

    layers = tuple(study.layers)
    distances = [key for key in stored_keys(study, "distances") if key[3] == layers]
    if not distances:
        return
    spec, scale, metric = distances[0][4], distances[0][5], distances[0][8]
    for name, value in (("mode", spec.mode), ("max_points", spec.max_points), ("scale", scale), ("metric", metric)):
        if isinstance(getattr(args, name), NotGiven):
            setattr(args, name, value)
    graphs = [key for key in stored_keys(study, "mapper") if key[4] == spec and isinstance(key[5], str)]
    if graphs:
        for name, value in zip(("lens", "n_cubes", "overlap"), graphs[0][5:8]):
            if isinstance(getattr(args, name), NotGiven):
                setattr(args, name, value)
        if isinstance(args.min_samples, NotGiven):
            args.min_samples = graphs[0][10]


def _parse_seeds(text: Optional[str], demo: bool) -> list:
    """``--seeds 1,2`` as ``[1, 2]`` (only with ``--demo``); a clear error otherwise."""
    if not text:
        return []
    if not demo:
        raise TDAInputError("--seeds trains seeded copies of the demo's digits CNN, so it needs --demo. For your own "
                            "models, call build_report(study, other_models=[...]) from Python.")
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise TDAInputError(f"--seeds must be comma-separated whole numbers such as 1,2. Got {text!r}.") from None
    if not seeds or min(seeds) < 0:
        raise TDAInputError(f"--seeds must be comma-separated whole numbers >= 0 such as 1,2. Got {text!r}.")
    return seeds


def run_report(args) -> int:
    """The ``report`` command: returns 0 on success, 2 (with a one-line message) on bad input."""
    chosen = [flag for flag, on in (("--demo", args.demo), ("--model", args.model), ("--model-file", args.model_file),
                                    ("--study", getattr(args, "study", None))) if on]
    try:
        if len(chosen) != 1:
            raise TDAInputError("choose exactly one of --demo, --model torchvision:NAME, --model-file PATH.py:CLASS or "
                                "--study FILE.tda"
                                + (f" (got {' and '.join(chosen)})" if chosen else "") + ".")
        out = check_report_settings(args)
        seeds = _parse_seeds(getattr(args, "seeds", None), args.demo)
        other_models = None
        if args.demo:
            from ..data import load_demo

            demo = load_demo(n_images=args.n_images, seed=args.seed)
            layers = [s.strip() for s in args.layers.split(",") if s.strip()] if args.layers else \
                (None if args.preset else demo.layers)
            study = Study(demo.model, demo.images, demo.labels, layers, class_names=demo.class_names,
                          preset=args.preset)
            model_name = "digits CNN (shipped weights)"
            data_name = f"held-out scikit-learn digits ({demo.subset} split)"
            if seeds:
                from ..data.train_digits import train_seeds

                other_models = {f"seed {s}": model for s, model in train_seeds(seeds).items()}
        elif getattr(args, "study", None):
            from ..engine.saved import open_study

            study = open_study(args.study)
            _stored_settings(study, args)
            model_name = study.stored_model["name"]
            data_name = f"the study saved in {Path(args.study).name} ({study.n_images} images)"
        else:
            study, model_name, data_name = _user_study(args)
        write_report_from_args(out, study, args, model_name=model_name, data_name=data_name,
                               other_models=other_models)
        if getattr(args, "save", None):
            saved = study.save(args.save)
            print(f"saved the study to {saved} ({saved.stat().st_size / 1e6:.1f} MB)")
    except (TDAInputError, TDATypeError, FileNotFoundError, BudgetExceededError, Cancelled) as exc:
        message = " ".join(str(exc).split())
        print(f"python -m tda_widgets report: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("python -m tda_widgets report: interrupted; no report written.", file=sys.stderr)
        return 130
    print(f"wrote {out} ({format_bytes(out.stat().st_size)})")
    return 0
