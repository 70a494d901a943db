"""The ``%tda`` line magic: open an explorer, write a report or list a model's layers.

::

    %load_ext tda_widgets
    %tda layers model images                       # every layer with its output shape, and the layer presets
    %tda explore model images --layers stages --explorer mapper --labels labels
    %tda report model images --layers conv --out report.html
    %tda explore --help

Variables are named, never evaluated: ``model``, ``images`` and the values of ``--labels`` and
``--class-names`` are names of the notebook's variables, or attributes of one
(``demo.images``). An unknown name, attribute or layer is a :class:`~tda_widgets.TDAInputError`
naming the closest matches, shown as one message instead of a traceback.

The settings flags (``--mode``, ``--max-points``, ``--metric``, ``--n-cubes``, ...) are made
from the options' declarations (:mod:`tda_widgets.options`) as the command line's are, so
their choices, defaults and help are the package's own; ``%tda report`` takes exactly the
flags of ``python -m tda_widgets report`` (:func:`tda_widgets.report.add_report_settings`).
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import re
import shlex
from typing import Any, Optional

from IPython.core.magic import Magics, line_magic, magics_class, needs_local_scope

from ..core.errors import BudgetExceededError, TDAInputError, TDATypeError
from ..core.options import add_arguments

__all__ = ["EXPLORERS", "TDAMagics", "build_parser", "run_tda", "load_ipython_extension",
           "unload_ipython_extension"]

#: ``--explorer`` choices and the widget class each opens.
EXPLORERS = {
    "persistence": "PersistenceExplorer",
    "distances": "LayerDistanceExplorer",
    "mapper": "MapperExplorer",
    "dashboard": "Dashboard",
}

#: The declared options ``%tda explore`` offers as flags, per spec (module, class, names).
_EXPLORE_OPTIONS = (
    ("tda_widgets.clouds", "CloudSpec", ("mode", "max_points")),
    ("tda_widgets.topology.persistence", "PersistenceSpec", ("maxdim", "scale", "backend")),
    ("tda_widgets.topology.distances", "DistanceSpec", ("metric", "infinite")),
    ("tda_widgets.topology.cka", "CKASpec", ("kernel",)),
    ("tda_widgets.topology.mapper", "MapperSpec", ("lens", "n_cubes", "overlap", "min_samples", "eps")),
)

_SHORT_ERRORS = (TDAInputError, TDATypeError, BudgetExceededError, FileNotFoundError)


class _HelpShown(Exception):
    """argparse printed help (or a version) and wanted to exit: the magic just returns."""


class MagicArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting the kernel: a usage error is a
    :class:`TDAInputError` (with the closest choice or flag), ``--help`` returns. Flags are
    never abbreviated (``--n-cube`` is a typo to report, not ``--n-cubes``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def exit(self, status: int = 0, message: Optional[str] = None):
        if message:
            print(message)
        raise _HelpShown(status)

    def error(self, message: str):
        hint = ""
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            choices = re.findall(r"'([^']*)'", choice.group(2))
            close = difflib.get_close_matches(choice.group(1), choices, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
        unknown = re.search(r"unrecognized arguments: (\S+)", message)
        if unknown:
            close = difflib.get_close_matches(unknown.group(1), list(self._all_flags()), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
        raise TDAInputError(f"{self.prog}: {message}.{hint} See {self.prog} --help.")

    def _all_flags(self):
        for action in self._actions:
            yield from action.option_strings
            for sub in getattr(action, "choices", None) or {}:
                parser = action.choices[sub] if isinstance(action.choices, dict) else None
                if isinstance(parser, argparse.ArgumentParser):
                    for sub_action in parser._actions:
                        yield from sub_action.option_strings


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the variable holding the torch.nn.Module (or an attribute: demo.model)")
    parser.add_argument("images", help="the variable holding the images: a tensor or array (N, C, H, W), "
                                       "a Dataset or a DataLoader")
    parser.add_argument("--layers", default=None,
                        help="comma-separated layer names, or one preset: blocks, stages, conv, linear, children "
                             "(default: the model's children); %%tda layers MODEL lists them")
    parser.add_argument("--labels", metavar="VARIABLE", default=None, help="the variable holding one label per image")
    parser.add_argument("--class-names", metavar="VARIABLE", default=None, dest="class_names",
                        help="the variable holding the class names (a list, indexed by label)")
    parser.add_argument("--n-images", type=int, default=None, dest="n_images",
                        help="use a seeded, class-balanced sample of this many images (default: all)")


def build_parser() -> MagicArgumentParser:
    """The ``%tda`` argument parser (its subcommands: explore, report, layers)."""
    import importlib

    from ..report.cli import add_report_settings

    parser = MagicArgumentParser(prog="%tda", description="Topological data analysis of a model's activations, "
                                 "from a notebook. Variables are named, not evaluated.")
    sub = parser.add_subparsers(dest="command", metavar="{explore,report,layers}")

    explore = sub.add_parser("explore", help="open an explorer widget on a model and images",
                             description="Open an explorer widget (returned, so it displays) on MODEL and IMAGES.")
    _add_data_arguments(explore)
    explore.add_argument("--explorer", default="persistence", choices=list(EXPLORERS),
                         help="which widget: persistence diagrams, layer distances beside CKA, mapper graphs, "
                              "or a dashboard with all three (default persistence)")
    settings = explore.add_argument_group(
        "settings", "each applies to the explorers that take it; default: the package's declared default")
    for module, name, only in _EXPLORE_OPTIONS:
        add_arguments(settings, getattr(importlib.import_module(module), name), only=list(only))
    # only the flags given reach the explorer, so an explorer never gets a setting it does not take
    given_only = {name for _, _, only in _EXPLORE_OPTIONS for name in only}
    for action in explore._actions:
        if action.dest in given_only:
            action.default = argparse.SUPPRESS
    explore.set_defaults(func=_explore)

    report = sub.add_parser("report", help="write the study as a standalone HTML report",
                            description="Write the study of MODEL on IMAGES (layer distances beside CKA, persistence "
                                        "diagrams, mapper graphs) to one self-contained HTML file, as "
                                        "python -m tda_widgets report does.")
    _add_data_arguments(report)
    report.add_argument("--seed", type=int, default=0, help="seed of the image sample and the point clouds")
    add_report_settings(report.add_argument_group("study settings"))
    report.set_defaults(func=_report)

    layers = sub.add_parser("layers", help="list a model's layers and what each preset selects",
                            description="List MODEL's named modules and the layers each preset selects; with "
                                        "IMAGES, each layer's output shape (one forward pass on one image).")
    layers.add_argument("model", help="the variable holding the torch.nn.Module")
    layers.add_argument("images", nargs="?", default=None, help="optional: images, for the output shapes")
    layers.set_defaults(func=_layers)
    return parser


# --------------------------------------------------------------------------- variables


def lookup(namespace: dict, expression: str, what: str, hidden: frozenset = frozenset()) -> Any:
    """The value of a variable (``images``) or of an attribute chain (``demo.images``) in the
    notebook's namespace; never evaluated as code.

    Raises
    ------
    TDAInputError
        An unknown variable or attribute, with the closest names.
    """
    parts = expression.split(".")
    if not all(part.isidentifier() for part in parts):
        raise TDAInputError(f"%tda: the {what} must be the name of a variable, or an attribute of one such as "
                            f"demo.images. Got {expression!r}; assign it to a variable first.")
    head = parts[0]
    if head not in namespace:
        names = [n for n in namespace if not n.startswith("_") and n not in hidden]
        close = difflib.get_close_matches(head, names, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise TDAInputError(f"%tda: no variable {head!r} (the {what}) in this notebook.{hint} "
                            f"Define it first, e.g. {head} = ...")
    value = namespace[head]
    for depth, part in enumerate(parts[1:], start=1):
        try:
            value = getattr(value, part)
        except AttributeError:
            owner = ".".join(parts[:depth])
            close = difflib.get_close_matches(part, [a for a in dir(value) if not a.startswith("_")], n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise TDAInputError(f"%tda: {owner} ({type(value).__name__}) has no attribute {part!r} (the "
                                f"{what}).{hint}") from None
    return value


def _model(namespace: dict, expression: str, hidden: frozenset):
    from torch import nn

    model = lookup(namespace, expression, "model", hidden)
    if not isinstance(model, nn.Module):
        models = [n for n, v in namespace.items() if isinstance(v, nn.Module) and not n.startswith("_")]
        hint = f" Models in this notebook: {', '.join(models)}." if models else ""
        raise TDATypeError(f"%tda: {expression!r} is a {type(model).__name__}, not a torch.nn.Module.{hint}")
    return model


def check_layers(model, text: Optional[str], model_expression: str = "model"):
    """The ``--layers`` value as Study takes it: None, one preset name, or a list of names
    that all exist in ``model`` (else a TDAInputError naming the closest layers)."""
    from ..capture.layers import LAYER_PRESETS

    if text is None:
        return None
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise TDAInputError(f"%tda: --layers is empty. Give layer names or a preset ({', '.join(LAYER_PRESETS)}).")
    modules = [name for name, _ in model.named_modules() if name]
    if len(names) == 1 and names[0] in LAYER_PRESETS and names[0] not in modules:
        return names[0]
    for name in names:
        if name in modules:
            continue
        if name in LAYER_PRESETS:
            raise TDAInputError(f"%tda: the preset {name!r} stands alone in --layers; give either one preset or "
                                "layer names.")
        close = difflib.get_close_matches(name, modules + list(LAYER_PRESETS), n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise TDAInputError(f"%tda: {type(model).__name__} has no layer {name!r}.{hint} "
                            f"%tda layers {model_expression} lists its layers and presets.")
    return names


def _data(args, namespace: dict, hidden: frozenset) -> dict:
    model = _model(namespace, args.model, hidden)
    images = lookup(namespace, args.images, "images", hidden)
    labels = None if args.labels is None else lookup(namespace, args.labels, "labels", hidden)
    class_names = None if args.class_names is None else lookup(namespace, args.class_names, "class names", hidden)
    return dict(model=model, images=images, labels=labels, layers=check_layers(model, args.layers, args.model),
                class_names=class_names)


# --------------------------------------------------------------------------- subcommands


def _accepted(cls) -> set:
    if cls.__name__ == "Dashboard":  # passes each setting to the explorers that take it
        from .. import widgets

        return set().union(*(_accepted(getattr(widgets, EXPLORERS[k])) for k in EXPLORERS if k != "dashboard"))
    return set(inspect.signature(cls.__init__).parameters)


def _explore(args, namespace: dict, hidden: frozenset):
    from .. import widgets

    data = _data(args, namespace, hidden)
    cls = getattr(widgets, EXPLORERS[args.explorer])
    settings = {name: getattr(args, name) for _, _, only in _EXPLORE_OPTIONS for name in only if hasattr(args, name)}
    accepted = _accepted(cls)
    for name in settings:
        if name not in accepted:
            takers = [k for k in EXPLORERS if name in _accepted(getattr(widgets, EXPLORERS[k]))]
            raise TDAInputError(f"%tda explore: --{name.replace('_', '-')} is not a setting of the {args.explorer} "
                                f"explorer; it applies to: {', '.join(takers)}.")
    return cls(data["model"], data["images"], data["labels"], data["layers"], class_names=data["class_names"],
               n_images=args.n_images, **settings)


def _report(args, namespace: dict, hidden: frozenset):
    from IPython.display import FileLink

    from ..engine.study import Study
    from ..report.cli import check_report_settings, write_report_from_args

    out = check_report_settings(args)
    data = _data(args, namespace, hidden)
    study = Study(data["model"], data["images"], data["labels"], data["layers"], class_names=data["class_names"],
                  n_images=args.n_images, seed=args.seed)
    path = write_report_from_args(out, study, args, model_name=f"{args.model} ({type(data['model']).__name__})",
                                  data_name=f"{args.images} ({study.n_images} images)")
    return FileLink(str(path), result_html_prefix="Report written: ")


def _layers(args, namespace: dict, hidden: frozenset) -> None:
    from ..capture.hooks import describe_layers
    from ..capture.layers import LAYER_PRESETS, select_layers

    model = _model(namespace, args.model, hidden)
    images = None if args.images is None else lookup(namespace, args.images, "images", hidden)
    described = {entry["name"]: entry for entry in describe_layers(model, images)} if images is not None else None
    lines = [f"{args.model}: {type(model).__name__}"]
    rows = [(name, type(module).__name__) for name, module in model.named_modules() if name]
    width = max([len(name) for name, _ in rows] + [8])
    lines.append("layers" + (" (output shape per image, from one image)" if described is not None else "") + ":")
    for name, kind in rows:
        shape = ""
        if described is not None:
            entry = described.get(name)
            if entry is None:
                shape = "did not run"
            else:
                shape = "not a tensor" if entry["output_shape"] is None else str(tuple(entry["output_shape"]))
        lines.append(f"  {name:<{width}}  {kind:<16} {shape}".rstrip())
    lines.append("presets (--layers PRESET):")
    for preset, text in LAYER_PRESETS.items():
        try:
            chosen = ", ".join(select_layers(model, preset, images))  # only the first image runs
        except TDAInputError as exc:
            chosen = "(needs images: %tda layers MODEL IMAGES)" if "needs 'example'" in str(exc) else "(selects none)"
        lines.append(f"  {preset:<9} {chosen}    # {text}")
    print("\n".join(lines))


# --------------------------------------------------------------------------- the magic


def run_tda(line: str, namespace: dict, hidden: frozenset = frozenset()) -> Any:
    """Run one ``%tda`` line against a namespace (the magic without IPython; for tests)."""
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise TDAInputError(f"%tda: cannot split the line ({exc}); check its quotes.") from None
    parser = build_parser()
    try:
        if not argv:
            parser.print_help()
            return None
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return None
        return args.func(args, namespace, hidden)
    except _HelpShown:
        return None


def _short(exc: BaseException) -> list:
    """What IPython shows for one of our errors: its class and message, without the traceback
    through the magic's machinery."""
    return [f"\x1b[0;31m{type(exc).__name__}\x1b[0m: {exc}"]


@magics_class
class TDAMagics(Magics):
    """The ``%tda`` magic (see the module docstring)."""

    @needs_local_scope
    @line_magic
    def tda(self, line: str, local_ns: Optional[dict] = None):
        """Topological data analysis of a model's activations (tda-widgets).

        ::

            %tda explore MODEL IMAGES [--layers L1,L2 | PRESET] [--explorer persistence|distances|mapper|dashboard]
                         [--labels VAR] [--class-names VAR] [--n-images N] [--mode ...] [--max-points N] ...
            %tda report MODEL IMAGES [--out report.html] [--layers ...] [--metric ...] ...
            %tda layers MODEL [IMAGES]

        ``%tda explore --help`` (and ``report``, ``layers``) lists every flag. ``explore``
        returns the widget, so it displays when it ends the cell.
        """
        namespace = dict(self.shell.user_ns)
        if local_ns:
            namespace.update(local_ns)
        hidden = frozenset(getattr(self.shell, "user_ns_hidden", {}) or ())
        try:
            return run_tda(line, namespace, hidden)
        except _SHORT_ERRORS as exc:
            exc._render_traceback_ = lambda exc=exc: _short(exc)  # same class; IPython shows only the message
            raise


def load_ipython_extension(ipython) -> None:
    """Register ``%tda``."""
    ipython.register_magics(TDAMagics)


def unload_ipython_extension(ipython) -> None:
    """Remove ``%tda``."""
    magics = ipython.magics_manager.magics
    magics["line"].pop("tda", None)
    ipython.magics_manager.registry.pop("TDAMagics", None)
