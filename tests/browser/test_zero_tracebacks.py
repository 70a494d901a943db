"""Zero tracebacks (issue 27, 4; on the plot layer before it this test failed: 6 error entries in
the Log Console, Dec 2026): the whole tour in JupyterLab, Run All, then every slider and
dropdown of every explorer moved once, a hover and a click on every plot; afterwards no cell shows
an error, JupyterLab's Log Console holds no entry of level error (a plain Run All left 16
``ValueError: '<uid>' is not in list`` tracebacks of plotly's widget there, shown by no cell), the
kernel logged no exception in a widget handler, and the page's console logged no error (4 x
"widget model not found" per Run All before).
"""

from __future__ import annotations

import tempfile
import time

import pytest

from tests.browser.harness import (
    COLLECT_KERNEL_ERRORS,
    REPO_ROOT,
    SLOW_MS,
    collect_console_errors,
    kernel_eval,
    launch_chromium,
    run_all_cells,
    wait_kernel_idle,
)

pytestmark = pytest.mark.browser

TOUR = REPO_ROOT / "notebooks" / "01_tour.ipynb"

_NO_JOB_RUNNING_JS = """() => [...document.querySelectorAll('.tda-explorer .tda-progress')]
    .every((el) => getComputedStyle(el).visibility === 'hidden')"""

_ALL_DRAWN_JS = """(n) => {
    const explorers = [...document.querySelectorAll('.tda-explorer')];
    return explorers.length >= n && explorers.every((el) => {
        const plots = [...el.querySelectorAll('.js-plotly-plot')];
        return plots.length > 0 && plots.every((gd) => gd.querySelector('.main-svg') &&
            !String(gd.layout?.title?.text ?? '').includes('computing'));
    });
}"""

# what the cells show as errors: stderr outputs and tracebacks
_CELL_ERRORS_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')]
    .filter((el) => el.matches('[data-mime-type="application/vnd.jupyter.stderr"]')
                    || el.innerText.includes('Traceback'))
    .map((el) => el.innerText.slice(0, 300))"""


def _idle(page, timeout_s: float = 180) -> None:
    page.wait_for_function(_NO_JOB_RUNNING_JS, timeout=timeout_s * 1000)
    page.wait_for_timeout(300)


def _move_every_control(page) -> int:
    """Every slider (one arrow key) and dropdown (the next option) of every explorer, once;
    returns how many were moved."""
    moved = 0
    explorers = page.locator(".tda-explorer")
    for e in range(explorers.count()):
        explorer = explorers.nth(e)
        if not explorer.is_visible():
            continue
        handles = explorer.locator(".widget-slider .noUi-handle")
        for k in range(handles.count()):
            handle = handles.nth(k)
            if not handle.is_visible():
                continue
            handle.scroll_into_view_if_needed()
            handle.focus()
            page.keyboard.press("ArrowRight")
            moved += 1
            _idle(page)
        selects = explorer.locator(".widget-dropdown select")
        for k in range(selects.count()):
            select = selects.nth(k)
            if not select.is_visible() or select.is_disabled():
                continue
            n = select.evaluate("(el) => el.options.length")
            if n < 2:
                continue
            index = select.evaluate("(el) => el.selectedIndex")
            select.scroll_into_view_if_needed()
            select.select_option(index=(index + 1) % n)
            moved += 1
            _idle(page)
    return moved


def _hover_and_click_every_plot(page) -> int:
    from playwright.sync_api import Error as PlaywrightError

    # the element of each explorer's plot (a plot swapped in for a view replaces its plotly element)
    plots = page.locator(".tda-explorer .tdaw-figure")
    done = 0
    for k in range(plots.count()):
        plot = plots.nth(k)
        try:
            if not plot.is_visible():
                continue
            plot.scroll_into_view_if_needed()
            box = plot.bounding_box()
        except PlaywrightError:
            continue
        if box is None:
            continue
        # across the plot area (plotly's margins are ~60 px), then a click in its middle
        for fx, fy in ((0.3, 0.7), (0.5, 0.5), (0.7, 0.3)):
            page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=3)
        page.mouse.click(box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"])
        done += 1
        _idle(page)
    return done


def _log_console_errors(page) -> list[str]:
    """Entries of level error or critical in JupyterLab's Log Console (View > Show Log Console)."""
    page.locator(".lm-MenuBar-itemLabel", has_text="View").click()
    page.locator("#jp-mainmenu-view .lm-Menu-itemLabel", has_text="Show Log Console").first.click()
    page.wait_for_selector(".jp-LogConsolePanel", timeout=20_000)
    page.wait_for_timeout(1000)
    return page.evaluate("""() => [...document.querySelectorAll('.jp-LogConsolePanel [data-log-level]')]
        .filter((el) => ['error', 'critical'].includes(el.dataset.logLevel))
        .map((el) => (el.closest('.jp-OutputArea-child') || el).innerText.slice(0, 300))""")


def test_the_tour_with_every_control_moved_leaves_no_traceback_anywhere(lab_server, playwright_instance):
    import shutil

    lab_server.delete_sessions()
    shutil.copy(TOUR, lab_server.root / TOUR.name)
    with tempfile.TemporaryDirectory(prefix="tdaw-chromium-") as user_data_dir:
        context = launch_chromium(playwright_instance, user_data_dir)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_viewport_size({"width": 1280, "height": 1000})
            console = collect_console_errors(page)
            page.goto(lab_server.url(f"/lab/tree/{TOUR.name}?reset"), wait_until="domcontentloaded")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=SLOW_MS)
            wait_kernel_idle(page, lab_server)
            kernel_eval(lab_server, COLLECT_KERNEL_ERRORS)
            started = time.monotonic()
            run_all_cells(page, lab_server, timeout=420)
            page.wait_for_function(_ALL_DRAWN_JS, arg=5, timeout=120_000)
            _idle(page)
            print(f"Run All and every explorer drawn in {time.monotonic() - started:.1f} s")
            moved = _move_every_control(page)
            clicked = _hover_and_click_every_plot(page)
            print(f"moved {moved} controls, hovered and clicked {clicked} plots")
            assert moved >= 15 and clicked >= 10, (moved, clicked)
            wait_kernel_idle(page, lab_server)
            cells = page.evaluate(_CELL_ERRORS_JS)
            import json

            kernel = [e for e in json.loads(kernel_eval(lab_server, "import json as _j; print(_j.dumps(_TDAW_KERNEL_ERRORS))"))
                      if not e.startswith("No such comm target registered: jupyter.widget.control")]
            log = _log_console_errors(page)
            assert cells == [], f"error output in a cell: {cells[:3]}"
            assert log == [], f"{len(log)} error entries in the Log Console: {log[:3]}"
            assert kernel == [], f"exceptions in the kernel's widget handlers: {kernel[:3]}"
            assert console == [], f"errors in the page's console: {console[:5]}"
        finally:
            context.close()
