"""Exceptions raised by tda-widgets.

Every error that a user can cause names the problem and the fix. The classes subclass the
built-in exception a caller would expect (``ValueError``, ``TypeError``, ``MemoryError``), so
``except ValueError`` keeps working.
"""

__all__ = [
    "TDAInputError",
    "TDATypeError",
    "BudgetExceededError",
    "Cancelled",
]


class TDAInputError(ValueError):
    """A value passed to tda-widgets is invalid; the message says which and how to fix it."""


class TDATypeError(TypeError):
    """An argument (or a layer output) has the wrong type; the message says what was expected."""


class BudgetExceededError(MemoryError):
    """A computation would exceed its memory budget; raised *before* anything is allocated.

    The message gives the estimate, the budget and which parameter to lower.
    """


class Cancelled(Exception):
    """A long computation was cancelled through its ``cancel`` event.

    Not a subclass of ``KeyboardInterrupt``: cancelling is a normal outcome, caught by widgets.
    """


class TDAWarning(UserWarning):
    """A warning raised by tda-widgets itself (an error in the test run, see pyproject.toml)."""


__all__.append("TDAWarning")
