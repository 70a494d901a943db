"""The HTML report: :mod:`.collect` gathers the data (a :class:`ReportData`, no HTML),
:mod:`.build` renders it with the Jinja2 template, :mod:`.cli` is its command line
(``python -m tda_widgets report``, ``%tda report``). The old ``tda_widgets.report`` module's
names are this package's."""

from .build import build_report, render_report, write_report
from .cli import add_report_parser, add_report_settings, check_report_settings, run_report, write_report_from_args
from .collect import ReportData, collect_report, layer_purity

__all__ = ["build_report", "write_report", "layer_purity", "collect_report", "render_report", "ReportData",
           "add_report_parser", "add_report_settings", "check_report_settings", "write_report_from_args", "run_report"]


def __getattr__(name: str):
    """Any other name of the old module (private ones included) still resolves."""
    from . import build, cli, collect

    for module in (build, collect, cli):
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
