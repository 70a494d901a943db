"""Every option of the study, declared once: name, default, choices or bounds, one-line help.

Each step's options form a frozen dataclass (a *spec*) whose fields are declared with
:func:`option`. The declaration is the one truth read by validation (the spec's
``__post_init__``), the widgets' controls (choices, default, label, tooltip), the report's
settings table and the command line's flags, so a new option or choice is one edit. The specs
themselves live beside the function they configure (``CloudSpec`` in :mod:`tda_widgets.clouds`,
``PersistenceSpec``, ``DistanceSpec``, ``CKASpec`` and ``MapperSpec`` in
:mod:`tda_widgets.topology`), in the style of scikit-learn's ``_parameter_constraints``.

This module imports nothing heavy (no numpy, torch or ipywidgets).
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Optional

from .errors import TDAInputError, TDATypeError

__all__ = ["Option", "option", "Spec", "options_of", "add_arguments", "NotGiven", "NOT_GIVEN", "unset",
           "is_given"]


class NotGiven:
    """An argument the caller left out, carrying the declared default it stands for.

    A study preset (:func:`tda_widgets.presets.apply`) fills exactly the arguments that are
    ``NotGiven``; an argument given *equal* to its default is given and wins. ``NOT_GIVEN``
    carries no default; :func:`unset` makes the marker of a declared option, which shows its
    default in signatures and ``help()`` and compares equal to it (so introspection reads the
    declared default). Never pass one on to a computation: :func:`presets.apply` replaces every
    marker by a value.
    """

    __slots__ = ("default",)

    def __init__(self, default: Any = None):
        self.default = default

    def __repr__(self) -> str:
        return repr(self.default)

    def __eq__(self, other: Any) -> bool:
        return self.default == (other.default if isinstance(other, NotGiven) else other)

    def __hash__(self) -> int:
        return hash(self.default)


#: "Not given", without a default (e.g. ``Study.mapper(mapper=...)`` left out).
NOT_GIVEN = NotGiven()


def unset(spec: Any, name: str) -> NotGiven:
    """The "not given" marker of option ``name`` of ``spec`` (carrying its declared default)."""
    return NotGiven(options_of(spec)[name].default)


def is_given(value: Any) -> bool:
    """Whether ``value`` was given (is not a :class:`NotGiven` marker)."""
    return not isinstance(value, NotGiven)

_CLOSED = ("both", "left", "right", "neither")
_KIND_WORDS = {Integral: "int", Real: "number", bool: "bool", tuple: "tuple", str: "str"}


@dataclass(frozen=True)
class Option:
    """One declared option.

    Parameters
    ----------
    name : str
        The parameter name (the spec's field, the keyword, the CLI flag ``--name``).
    default : object
        The default everywhere (spec, widget, report, CLI).
    help : str
        One line, shown as the widget's tooltip, in the report and in ``--help``.
    choices : tuple, optional
        The allowed values, when there is a fixed set.
    kind : type or tuple of types, optional
        The allowed type(s) when there is no fixed set (``bool`` is never taken for an int);
        with ``choices`` too, a value is either one of the named choices or of this kind
        (e.g. ``eps``: ``"knee"`` or a number).
    minimum, maximum : float, optional
        Bounds of a number (``None``: unbounded on that side).
    closed : {"both", "left", "right", "neither"}, default "both"
        Which of the bounds belong to the allowed interval, as in scikit-learn's
        ``Interval``: ``closed="neither"`` with ``minimum=0, maximum=1`` is ``0 < x < 1``.
        A comparison that fails (NaN) refuses the value; an open ``maximum=math.inf``
        means "finite".
    allow_none : bool
        Whether ``None`` is allowed (besides ``choices``).
    allow_callable : bool
        Whether a callable is allowed besides ``choices`` (e.g. a user's own activation
        function beside the named ones).
    label : str, optional
        The widget's short label; default: the name.
    ui : tuple, optional
        ``(min, max, step)`` of the widget's slider, when it differs from the bounds.
    """

    name: str
    default: Any
    help: str
    choices: Optional[tuple] = None
    kind: Any = None
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    closed: str = "both"
    allow_none: bool = False
    allow_callable: bool = False
    label: Optional[str] = None
    ui: Optional[tuple] = None

    def __post_init__(self):
        if self.closed not in _CLOSED:
            raise ValueError(f"Option {self.name!r}: closed must be one of {_CLOSED}; got {self.closed!r}.")

    @property
    def text(self) -> str:
        """The widget label."""
        return self.label or self.name.replace("_", " ")

    def rule(self) -> str:
        """The rule in words, for messages and ``--help``."""
        if self.choices is not None:
            words = f"one of {list(self.choices)}" + (" or a callable" if self.allow_callable else "")
            if self.kind is None:
                return words
            return words + " or " + self._kind_rule()
        return self._kind_rule()

    def _kind_rule(self) -> str:
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        words = " or ".join(_KIND_WORDS.get(k, k.__name__) for k in kinds if k is not None) or "value"
        bounds = []
        if self.minimum is not None:
            bounds.append(f"{'>=' if self.closed in ('both', 'left') else '>'} {self.minimum}")
        if self.maximum is not None and not self._finite_only:
            bounds.append(f"{'<=' if self.closed in ('both', 'right') else '<'} {self.maximum}")
        if self._finite_only:
            bounds.append("finite")
        rule = f"{'an' if words[0] in 'aeiou' else 'a'} {words}" + (f" {' and '.join(bounds)}" if bounds else "")
        return rule + (" or None" if self.allow_none else "")

    def check(self, value: Any, where: str) -> Any:
        """Return ``value`` if it is allowed; else raise an error naming the option, the rule,
        the value received and the fix."""
        if value is None and (self.allow_none or (self.choices is not None and None in self.choices)):
            return value
        head = f"The '{self.name}' parameter of {where} must be {self.rule()}."
        if self.allow_callable and callable(value):
            return value
        if self.choices is not None:
            if value in self.choices and not (isinstance(value, bool) and not any(
                    isinstance(c, bool) for c in self.choices)):
                return value
            if self.kind is not None and not isinstance(value, str):
                return self._check_kind(value, head)  # a named choice or a value of the kind
            close = difflib.get_close_matches(str(value), [str(c) for c in self.choices], n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            if self.allow_callable:
                hint += " Or pass your own function (a callable)."
            raise TDAInputError(f"{head} Got {value!r} instead.{hint}")
        return self._check_kind(value, head)

    def _check_kind(self, value: Any, head: str) -> Any:
        if self.kind is not None:
            kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
            if isinstance(value, bool) and bool not in kinds:
                raise TDATypeError(f"{head} Got {value!r} (a bool) instead.{self._hint()}")
            if not isinstance(value, kinds):
                raise TDATypeError(f"{head} Got {value!r} ({type(value).__name__}) instead.{self._hint()}")
        if not self.within(value):
            raise TDAInputError(f"{head} Got {value!r} instead.{self._hint()}")
        return value

    @property
    def _finite_only(self) -> bool:
        return self.maximum == float("inf") and self.closed in ("left", "neither")

    def within(self, value: Any) -> bool:
        """Whether a number lies in the declared interval (written so that NaN lies in none)."""
        if self.minimum is not None:
            if not (value >= self.minimum if self.closed in ("both", "left") else value > self.minimum):
                return False
        if self.maximum is not None:
            if not (value <= self.maximum if self.closed in ("both", "right") else value < self.maximum):
                return False
        return True

    def _hint(self) -> str:
        """" Try name=default." when the default is a value the rule allows (it is, for every
        declared option; tested)."""
        return f" Try {self.name}={self.default!r}." if self.default is not None else ""


def option(default: Any, help: str, **declaration: Any) -> Any:
    """A spec field declared once; see :class:`Option` for the keywords."""
    return dataclasses.field(default=default, metadata={"option": (default, help, declaration)})


def options_of(spec: Any) -> dict[str, Option]:
    """The declared options of a spec class or instance, by name, in field order."""
    out = {}
    for f in dataclasses.fields(spec):
        if "option" in f.metadata:
            default, help, declaration = f.metadata["option"]
            out[f.name] = Option(name=f.name, default=default, help=help, **declaration)
    return out


class Spec:
    """Base of the frozen option dataclasses: validated on creation, hashable, comparable.

    Subclasses are ``@dataclass(frozen=True)`` with fields made by :func:`option`; a
    subclass's own ``_check`` may add rules that involve several fields.
    """

    def __post_init__(self):
        where = type(self).__name__
        for name, opt in options_of(self).items():
            opt.check(getattr(self, name), where)
        self._check()

    def _check(self) -> None:
        pass

    @classmethod
    def options(cls) -> dict[str, Option]:
        return options_of(cls)

    @classmethod
    def default(cls, name: str) -> Any:
        return options_of(cls)[name].default

    @classmethod
    def check(cls, where: str, **values: Any) -> None:
        """Check each given value against its declaration, naming ``where`` (e.g.
        ``"Study.distance_matrix"``) in the message."""
        declared = options_of(cls)
        for name, value in values.items():
            declared[name].check(value, where)

    def replace(self, **changes: Any):
        """A copy with ``changes`` (validated like any new spec)."""
        return dataclasses.replace(self, **changes)

    def kwargs(self) -> dict:
        """The options as keyword arguments of the step's function."""
        return {name: getattr(self, name) for name in options_of(self)}

    def settings(self) -> list[tuple[str, str, str]]:
        """``(name, value, help)`` rows for the report's settings table."""
        return [(name, repr(getattr(self, name)), opt.help) for name, opt in options_of(self).items()]

    def describe(self, skip: tuple = ()) -> str:
        """The settings in one line, each option's keyword (underscores as spaces) and value, in
        declaration order: the report's summary of a step, generated from the declarations.

        Examples
        --------
        >>> from tda_widgets.topology import DistanceSpec
        >>> DistanceSpec(metric="wasserstein-1").describe()
        'metric wasserstein-1, dims (0, 1), infinite match'
        """
        return ", ".join(f"{name.replace('_', ' ')} {_value_text(getattr(self, name))}" for name in options_of(self)
                         if name not in skip)

    @classmethod
    def from_kwargs(cls, where: str, **kwargs: Any):
        """Build a spec from keyword arguments, naming ``where`` and the close matches of an
        unknown keyword instead of Python's bare ``unexpected keyword``."""
        names = list(options_of(cls))
        unknown = [k for k in kwargs if k not in names]
        if unknown:
            close = difflib.get_close_matches(unknown[0], names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise TDAInputError(f"{where} got an unknown option {unknown[0]!r}; its options are {names}.{hint}")
        return cls(**kwargs)


def _value_text(value: Any) -> str:
    """A setting's value in words: a callable by its name, anything else as ``str``."""
    if callable(value) and not isinstance(value, type):
        return getattr(value, "__name__", type(value).__name__)
    return str(value)


def add_arguments(parser: Any, spec_cls: Any, *, only: Optional[list] = None,
                  aliases: Optional[dict] = None, not_given: bool = False) -> None:
    """Add one ``--flag`` per declared option of ``spec_cls`` to an argparse parser or group
    (choices, default and help from the declaration); ``aliases`` adds older flag names. With
    ``not_given``, a flag left out parses as a :class:`NotGiven` marker carrying the default
    (equal to it), so a study preset can fill it (:func:`tda_widgets.presets.apply`)."""
    for name, opt in options_of(spec_cls).items():
        if only is not None and name not in only:
            continue
        default = NotGiven(opt.default) if not_given else opt.default
        flags = ["--" + name.replace("_", "-")] + list((aliases or {}).get(name, ()))
        if opt.kind is bool or (opt.choices is not None and set(opt.choices) <= {True, False}):
            parser.add_argument(*flags, default=default, action="store_true" if not opt.default else "store_false",
                                help=f"{opt.help} (default {opt.default})".replace("%", "%%"), dest=name)
            continue
        kwargs: dict = {"default": default, "help": f"{opt.help} (default {opt.default})".replace("%", "%%"), "dest": name}
        if opt.choices is not None and opt.kind is not None:  # a named choice or a number
            words = tuple(c for c in opt.choices if c is not None)
            kinds = opt.kind if isinstance(opt.kind, tuple) else (opt.kind,)
            number = {Integral: int, Real: float}.get(next(k for k in kinds if k is not bool), float)
            kwargs["type"] = lambda text, words=words, number=number: text if text in words else number(text)
            kwargs["metavar"] = "{" + ",".join(map(str, words)) + ",NUMBER}"
        elif opt.choices is not None:
            kwargs["choices"] = [c for c in opt.choices if c is not None]
        elif opt.kind is not None:
            kinds = opt.kind if isinstance(opt.kind, tuple) else (opt.kind,)
            kind = next(k for k in kinds if k is not bool)
            kwargs["type"] = {Integral: int, Real: float}.get(kind, kind)
        parser.add_argument(*flags, **kwargs)
