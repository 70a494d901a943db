"""Browser latency of the explorers (issue 17, "Explorers that feel live", deliverable 2).

Real JupyterLab 4 (or Jupyter Notebook 7) in headless Debian Chromium, driven with Playwright's
sync API through the browser tests' own harness (``tests/browser/harness.py``: server, browser,
notebook, Run All, kernel idle). A latency here is **what a user waits for**: from the user's
action (a key press on a slider handle, a ``select_option`` on a dropdown, a real mouse move /
click, a click on *Run > Run All Cells*) until the browser *shows* the new state.

How a latency is measured (rows 1-5 and 7)
-------------------------------------------
Before the action the page is *armed* (``window.__bench.arm``, see ``PAGE_JS``):

* a capture-phase listener on ``window`` records ``t0`` = the ``performance.now()`` of the first
  ``keydown`` / ``input`` / ``mousemove`` event, i.e. the action's own event inside the page;
* a ``MutationObserver`` on every watched element (the explorer's Plotly graph divs, its
  thumbnail panel) logs a *signature* of each element whenever it changes: the plot's title, per
  trace its name, number of points and the sum of its finite x / y / z values and marker
  opacities, and the number of
  drawn ``.point`` nodes (and of those not hidden by their opacity); for the panel its title, counts and shown image indices;
* each log entry also gets ``tp``: the time of a message posted from the next
  ``requestAnimationFrame``, i.e. after that frame's style, layout and paint.

After the action the script waits until (a) the watched state changed, the explorer's progress
bar is hidden again and the page was quiet for 1 s (so that talking to the kernel does not take
CPU from the update still arriving), (b) the **kernel** says
the explorer is done and reports the state its Python figures / panel hold (``kernel_eval``,
beside the page), (c) the page holds exactly that state and nothing changed for 300 ms. That
final state is then looked up in the log: **latency = tp of the first entry whose signatures
equal the final ones - t0**. So intermediate states (a title before its traces, a second redraw)
never end a measurement early, and a state is only accepted once the kernel confirms it is the
new one. The kernel also reports ``study.stats`` counters, which must show a computation for a
"first time" row and none for a "seen before" row.

Rows (``--only`` takes these keys; goals from issue 17)
--------------------------------------------------------
=================  =========================================================================
persist_warm       PersistenceExplorer (tour settings: 450 digits, 200 points, layer block3):
                   layer slider (ArrowRight / ArrowLeft on the focused noUiSlider handle)
                   alternating block3 <-> fc1, both computed before. Goal <= 100 ms.
persist_new        The same slider move to a layer never computed: before each repetition the
                   target layer's cached activations, cloud and diagrams are evicted from the
                   explorer's Study (through ``study.cache``'s public keys/get/clear/put, in the
                   kernel), exactly the state of an explorer that never showed that layer; the
                   kernel confirms one new persistence computation. Goal <= 500 ms.
mapper_new         MapperExplorer (tour settings: 300 points, every layer's graph shown):
                   "intervals" slider 10 <-> 11, the target cover's five cached graphs evicted
                   first (kernel confirms five mapper computations). Goal <= 500 ms for the main
                   graph; the row ``(all 6 graphs)`` is the time until every graph shows it.
mapper_seen        The same slider move between two covers both computed. Goal <= 100 ms.
mapper_click       Real mouse onto a node of the main graph and click, alternating between the
                   two most isolated nodes. Plotly fires hover as the mouse arrives (a click
                   always comes with its hover), and hover already shows the node, so ``t0`` is
                   the first mouse move onto the node. Done = the thumbnail panel shows the
                   node's images AND every graph's rings (the 'highlight' traces) are the
                   kernel's. Goal <= 100 ms.
metric_new         LayerDistanceExplorer (tour settings: 200 points): metric dropdown
                   bottleneck -> wasserstein-1, its cached distance matrix evicted first (the
                   diagrams stay cached, as after the explorer first showed bottleneck). Goal
                   <= 500 ms.
metric_seen        The metric dropdown alternating bottleneck <-> wasserstein-1, both cached.
                   Goal <= 100 ms.
hover              Real mouse onto a finite H1 point of the persistence diagram (alternating
                   between the two most isolated ones) until the thumbnail panel shows that
                   bar's images. Goal <= 100 ms.
filtration         FiltrationExplorer (issue 32; 60 points on a noisy circle, bench_filtration.py's
                   cloud): "edge length" slider. Warm: ArrowRight / ArrowLeft between steps 20 and
                   21, both drawn before: the page swaps in the drawing, diagram and barcode it
                   holds; the kernel confirms no new drawing. Goal <= 100 ms. Cold: ArrowRight onto
                   a step never shown (the kernel first puts the slider one below it); the kernel
                   confirms one new drawing. Goal <= 500 ms. Done when all three plots show the
                   kernel's figures.
layer_map          LayerMap (issue 32; block2, all 450 digits) linked with the mapper explorer.
                   Hover: the real mouse onto one of two isolated points in turn until the map's
                   thumbnail panel shows that image (kernel-confirmed). Goal <= 100 ms. Lasso: a
                   real-mouse lasso around the left, then the right third of the map's points,
                   from the mouse-up until the map's thumbnails and the rings in every graph of
                   the mapper explorer show the kernel's state. Goal <= 100 ms (as a mapper click).
map_layer          LayerMap (issue 32, 3): its layer slider between block2 and block3, both mapped
                   before (ArrowRight / ArrowLeft); the kernel confirms no new map. Goal <= 100 ms.
big                Big figures (issue 27, 3), each in a Plot of its own: a persistence diagram of
                   10,000 H1 points (WebGL markers, plotly's scattergl) and a mapper graph of
                   about 500 nodes (4,000 uniform points, pca2 lens, 16 x 16 cubes). Time from
                   just before the kernel is asked for ``plot.show(figure)`` until the page has
                   painted it (page clock): a new view (views forgotten first), a view seen
                   before, a new graph figure, and a restyle of the graph's rings.
tour               ``notebooks/01_tour.ipynb`` copied to the server root, opened in a fresh
                   kernel, *Run > Run All Cells* clicked; polled every 50 ms in the page: the
                   time until the first explorer is drawn and until all of the tour's explorers
                   are (drawn = every Plotly graph of the explorer has an SVG and traces, none
                   titled "computing", and its first graph has points). Goal: every explorer
                   <= 8 s after Run All.
                   Also printed: when each explorer's first plot (its main view) is drawn with
                   data, and the main-thread tasks over 150 ms (a ``PerformanceObserver``
                   of long tasks) and the longest once the kernel is idle (goal <= 300 ms).
=================  =========================================================================

Every run starts from a fresh kernel (old sessions deleted; each tour repetition too), in a
1280x800 viewport; the server and the browser are stopped at the end, also on error. The
kernel WebSocket frames are logged in the page with their time (the page's ``WebSocket`` is
wrapped by an init script; Jupyter's v1 WebSocket protocol is decoded for the message type and,
for widget messages, the state keys) and summarised after the table: frames and bytes per
repetition, which message kinds are big (``_widget_data`` = a whole figure re-sent), and where
each latency went (sending, the kernel's answer, the rest of the messages, rendering).

The first line printed is ``uptime``'s; the last is ``bench_browser: N of M goals met (load X)``
(X: the 1-minute load average at the start).

Run (repository root)::

    .venv/bin/python benchmarks/bench_browser.py                      # every row, 5 repetitions
    .venv/bin/python benchmarks/bench_browser.py --reps 2 --only persist_warm,hover
    .venv/bin/python benchmarks/bench_browser.py --app notebook       # Jupyter Notebook 7
    .venv/bin/python benchmarks/bench_browser.py --only hover --verbose  # each measurement's timeline

It needs Debian's Chromium at /usr/bin/chromium (``scripts/install_chromium.sh``), never
Playwright's own browser. Tests never assert these times; this script only prints them.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable, Optional

from _common import REPO_ROOT  # noqa: F401  (puts the repository on sys.path)

from tests.browser.harness import (  # noqa: E402
    SLOW_MS,
    LabServer,
    chromium_missing_message,
    kernel_eval,
    launch_chromium,
    run_all_cells,
    start_server,
    wait_kernel_idle,
    write_notebook,
)

TOUR = REPO_ROOT / "notebooks" / "01_tour.ipynb"
try:  # the tour test knows how many explorers the tour shows; fall back to its value
    from tests.browser.test_tour import EXPECTED_EXPLORERS as TOUR_EXPLORERS  # noqa: E402
except Exception:  # pragma: no cover - pytest missing, or the test moved
    TOUR_EXPLORERS = 5
#: the tour's explorers in notebook order (the dashboard's mapper tab is never opened)
TOUR_NAMES = ["PersistenceExplorer", "LayerDistanceExplorer", "MapperExplorer", "Dashboard: persistence tab",
              "Dashboard: layer distances tab"]

VIEWPORT = {"width": 1280, "height": 800}
WAIT_MS = 90_000          # longest wait for one change to show (a loaded 2-core machine)
QUIET_MS = 300            # the page must be unchanged this long before a state counts as final
TOUR_TIMEOUT_S = 420      # Run All of the tour, cells included


# ============================================================================ the rows


@dataclass(frozen=True)
class Row:
    """One line of the table: ``goal_ms`` None for an informational row (not counted)."""

    key: str
    label: str
    goal_ms: Optional[float]


ROWS = [
    Row("persist_warm", "persistence: layer slider, a layer seen before", 100),
    Row("persist_new", "persistence: layer slider, a new layer (200 points)", 500),
    Row("mapper_new", "mapper: intervals slider, a new cover (main graph)", 500),
    Row("mapper_new_all", "mapper: intervals slider, a new cover (all 6 graphs)", None),
    Row("mapper_seen", "mapper: intervals slider, a cover seen before (main graph)", 100),
    Row("mapper_seen_all", "mapper: intervals slider, a cover seen before (all 6 graphs)", None),
    Row("mapper_click", "mapper: click a node -> thumbnails + rings in every graph", 100),
    Row("mapper_click_thumbs", "mapper: click a node -> thumbnails only", None),
    Row("metric_new", "distances: metric -> wasserstein-1, first time", 500),
    Row("metric_seen", "distances: metric, a metric seen before", 100),
    Row("hover", "persistence: hover a diagram point -> thumbnails", 100),
    Row("filt_warm", "filtration: step slider, a step seen before (drawing, diagram, barcode)", 100),
    Row("filt_cold", "filtration: step slider, a new step (complex drawn, cursors moved)", 500),
    Row("map_hover", "layer map: hover a point -> its image", 100),
    Row("map_select", "layer map: lasso -> rings in every graph of the linked mapper + thumbnails", 100),
    Row("map_select_thumbs", "layer map: lasso -> the map's thumbnails only", None),
    Row("map_layer", "layer map: layer slider, a layer seen before", 100),
    Row("big_diagram", "big: a 10,000-point diagram, kernel show -> drawn", None),
    Row("big_diagram_seen", "big: the 10,000-point diagram seen before, kernel show -> drawn", None),
    Row("big_graph", "big: a 500-node mapper graph, kernel show -> drawn", None),
    Row("big_graph_rings", "big: rings on the 500-node graph (restyle), kernel -> painted", None),
    Row("tour_first", "Run All tour: first explorer drawn", None),
    Row("tour_all", f"Run All tour: every explorer drawn ({TOUR_EXPLORERS})", 8000),
    Row("tour_longest_task_after_idle", "Run All tour: longest main-thread task once the kernel is idle", 300),
]
ROW_BY_KEY = {row.key: row for row in ROWS}
#: what ``--only`` accepts: each measured group, named by its main row
GROUPS = {
    "persist_warm": ["persist_warm"],
    "persist_new": ["persist_new"],
    "mapper_new": ["mapper_new", "mapper_new_all"],
    "mapper_seen": ["mapper_seen", "mapper_seen_all"],
    "mapper_click": ["mapper_click", "mapper_click_thumbs"],
    "metric_new": ["metric_new"],
    "metric_seen": ["metric_seen"],
    "hover": ["hover"],
    "filtration": ["filt_warm", "filt_cold"],
    "layer_map": ["map_hover", "map_select", "map_select_thumbs"],
    "map_layer": ["map_layer"],
    "big": ["big_diagram", "big_diagram_seen", "big_graph", "big_graph_rings"],
    "tour": ["tour_first", "tour_all", "tour_longest_task_after_idle"],
}


@dataclass
class Results:
    """Per row key: latencies (ms), their breakdown and WebSocket traffic; errors per group."""

    times: dict = field(default_factory=lambda: defaultdict(list))
    errors: dict = field(default_factory=dict)
    traffic: dict = field(default_factory=lambda: defaultdict(list))
    breakdown: dict = field(default_factory=lambda: defaultdict(list))
    tour: list = field(default_factory=list)   # per repetition: [(shown, drawn) ms per explorer]


# ============================================================================ the page side

#: Installed by ``page.add_init_script`` (before any script of every page load):
#: ``window.__wsLog``, every kernel WebSocket frame with its arrival / send time, and
#: ``window.__bench``, the signatures, the armed log and the final-state check.
PAGE_JS = r"""(() => {
  if (window.__bench) return;

  // ---- kernel WebSocket frames: time, direction, bytes, message kind (Jupyter's v1 protocol:
  // count, offsets, then channel, header, parent_header, metadata, content, buffers; or JSON text)
  const wsLog = window.__wsLog = [];
  // ---- main-thread tasks over 50 ms (the browser's long-task entries): start and duration
  const longTasks = window.__longTasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longTasks.push([e.startTime, e.duration]);
    }).observe({type: 'longtask', buffered: true});
  } catch (e) { /* no long-task timing in this browser */ }
  const pageSessions = new Set();
  const OUTPUT = new Set(['status', 'execute_input', 'stream', 'execute_result', 'error', 'execute_reply']);
  const decoder = new TextDecoder();
  const parse = (data) => {   // [bytes, header, parent_header, () => content]
    if (typeof data === 'string') {
      const m = JSON.parse(data);
      return [data.length, m.header, m.parent_header, () => m.content];
    }
    const buffer = data instanceof ArrayBuffer ? data : (ArrayBuffer.isView(data)
      ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : null);
    if (buffer === null) return [data && data.size ? data.size : 0, null, null, () => null];
    const view = new DataView(buffer);
    const n = Number(view.getBigUint64(0, true));
    const offsets = [];
    for (let i = 0; i < n; i++) offsets.push(Number(view.getBigUint64(8 * (i + 1), true)));
    const end = (i) => (i + 1 < n ? offsets[i + 1] : buffer.byteLength);
    const part = (i) => JSON.parse(decoder.decode(new Uint8Array(buffer, offsets[i], end(i) - offsets[i])));
    return [buffer.byteLength, part(1), part(2), () => part(4)];
  };
  const note = (dir, data) => {
    const t = performance.now();
    let size = 0, kind = 'undecoded', foreign = false;
    try {
      const [bytes, header, parent, content] = parse(data);
      size = bytes;
      if (header) {
        kind = header.msg_type;
        if (dir === 'out') pageSessions.add(header.session);
        if (kind === 'comm_msg' || kind === 'comm_open') {
          const d = (content() || {}).data || {};
          const keys = d.state ? Object.keys(d.state).sort().join(',') : '';
          const method = d.method || (kind === 'comm_open' ? 'open' : '?');
          const custom = d.content || {};
          const extra = method === 'custom' ? String(custom.event || custom.method || '').slice(0, 40)
            : (kind === 'comm_open' ? String((d.state || {})._model_name || '') : keys);
          // plotly follows every edit with the same key set to null: marked, never taken for a result
          const reset = d.state && Object.keys(d.state).length > 0
            && Object.values(d.state).every((v) => v === null);
          kind = `${kind} ${method} ${extra}${reset ? ' =null' : ''}`.trim();
        }
        // output of the benchmark's own kernel_eval (another session), not the page's traffic
        foreign = dir === 'in' && OUTPUT.has(header.msg_type) && parent && parent.session
          && !pageSessions.has(parent.session);
      }
    } catch (e) { kind = 'undecoded'; }
    wsLog.push({t, dir, size, kind, foreign});
  };
  const Native = window.WebSocket;
  class LoggedWebSocket extends Native {
    constructor(...args) {
      super(...args);
      this.__kernel = String(args[0]).includes('/api/kernels/');
      if (this.__kernel) this.addEventListener('message', (e) => note('in', e.data));
    }
    send(data) {
      if (this.__kernel) note('out', data);
      return super.send(data);
    }
  }
  window.WebSocket = LoggedWebSocket;

  // ---- signatures of the watched elements
  const titleOf = (gd) => {
    const t = gd.layout && gd.layout.title;
    return t == null ? '' : (typeof t === 'string' ? t : String(t.text ?? ''));
  };
  const acc = (v, box) => {
    if (v == null || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'number') { if (isFinite(v)) box.s += v; return; }
    if (Array.isArray(v) || ArrayBuffer.isView(v)) for (const e of v) acc(e, box);
  };
  // [name, number of points (x, else z), sum of the finite numbers of x, y, z and the points'
  // opacities (the mapper's rings are shown by opacity)]
  const traces = (gd) => (gd.data || []).map((t) => {
    const box = {s: 0};
    for (const key of ['x', 'y', 'z']) acc(t[key], box);
    acc(t.marker && t.marker.opacity, box);
    const n = t.x != null ? t.x.length : (t.z != null ? t.z.length : 0);
    return [t.name ?? null, n, box.s];
  });
  const isPanel = (el) => el.classList.contains('tdaw-thumbs');
  const panelState = (el) => {
    const title = el.querySelector('.tdaw-thumbs-title');
    const ids = Array.from(el.querySelectorAll('.tdaw-thumb')).map((c) => c.dataset.index).join(',');
    return [title ? title.textContent : '', el.dataset.nSelected || '0', el.dataset.nShown || '0', ids];
  };
  // a figure's element keeps the plots of views seen before and shows one of them (the fast
  // path swaps plots in it): watch the element, read the plot it shows
  const plotOf = (el) => !el.classList.contains('tdaw-figure') ? el
    : (Array.from(el.children).find((c) => c.classList.contains('js-plotly-plot') && !c.classList.contains('tdaw-hidden'))
       || el);
  const sig = (box) => {
    if (isPanel(box)) return JSON.stringify(panelState(box));
    const el = plotOf(box);
    const domTitle = el.querySelector('.gtitle');
    const points = el.querySelectorAll('.point');
    let shown = 0;   // painted points: a ring shown by its opacity counts once drawn
    for (const p of points) if (p.style.opacity !== '0') shown += 1;
    return JSON.stringify([titleOf(el), traces(el), points.length, shown,
                           domTitle ? domTitle.textContent : '']);
  };
  const close = (a, b) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));
  // Does element el hold the state the kernel reported (see bench_state in the notebook)?
  const holds = (box, want) => {
    const el = isPanel(box) ? box : plotOf(box);
    if (isPanel(el)) {
      const [title, nSelected] = panelState(el);
      return title === want.panel_title && Number(nSelected) === want.n_selected;
    }
    if (titleOf(el) !== (want.title ?? '')) return false;
    const have = traces(el);
    return have.length === want.traces.length && have.every((t, i) => {
      const w = want.traces[i];
      return t[0] === w[0] && t[1] === w[1] && close(t[2], w[2]);
    });
  };

  // ---- one measurement
  let armed = null;
  window.__bench = {
    sig,
    elements: (selectors) => selectors.flatMap((s) => Array.from(document.querySelectorAll(s)))
      .map((el) => (el.parentElement && el.parentElement.classList.contains('tdaw-figure') ? el.parentElement : el)),
    arm(selectors, events) {
      const els = this.elements(selectors);
      if (els.length === 0) throw new Error('nothing to watch at ' + selectors.join(', '));
      const st = {armedAt: performance.now(), t0: null, log: [], els, observers: [], listeners: []};
      // a new log entry when a signature changed: only element `only`'s recomputed when given
      const record = (only) => {
        const last = st.log[st.log.length - 1];
        const sigs = only === undefined || !last ? els.map(sig)
          : last.sigs.map((s, i) => (i === only ? sig(els[i]) : s));
        if (last && sigs.every((s, i) => s === last.sigs[i])) return;
        const entry = {t: performance.now(), tp: null, sigs};
        st.log.push(entry);
        // after the next frame's rendering: a message posted from requestAnimationFrame
        requestAnimationFrame(() => {
          const channel = new MessageChannel();
          channel.port1.onmessage = () => { entry.tp = performance.now(); };
          channel.port2.postMessage(0);
        });
      };
      record();
      for (const ev of events) {
        const listener = () => { if (st.t0 === null) st.t0 = performance.now(); };
        window.addEventListener(ev, listener, {capture: true});
        st.listeners.push([ev, listener]);
      }
      els.forEach((el, i) => {
        const observer = new MutationObserver(() => record(i));
        observer.observe(el, {subtree: true, childList: true, attributes: true, characterData: true});
        st.observers.push(observer);
      });
      st.record = record;
      armed = st;
      return els.length;
    },
    // did any of the elements at `indices` change since arming? (read from the log: cheap to poll)
    changed(indices) {
      const first = armed.log[0].sigs, now = armed.log[armed.log.length - 1].sigs;
      return indices.some((i) => now[i] !== first[i]);
    },
    // has nothing changed for quietMs?
    quiet(quietMs) {
      return performance.now() - armed.log[armed.log.length - 1].t >= quietMs;
    },
    // do the elements hold the kernel's state, unchanged for quietMs?
    settled(wanted, quietMs) {
      armed.record();
      const last = armed.log[armed.log.length - 1];
      return armed.t0 !== null && wanted.every((w, i) => holds(armed.els[i], w))
        && performance.now() - last.t >= quietMs && last.tp !== null;
    },
    describe(wanted) {
      return armed.els.map((el, i) => ({holds: holds(el, wanted[i]), sig: sig(el).slice(0, 300)}));
    },
    disarm() {
      const st = armed;
      armed = null;
      if (!st) return null;
      st.observers.forEach((o) => o.disconnect());
      st.listeners.forEach(([ev, l]) => window.removeEventListener(ev, l, {capture: true}));
      const frames = wsLog.filter((f) => f.t >= st.armedAt);
      return {t0: st.t0, log: st.log.map((e) => ({t: e.t, tp: e.tp, sigs: e.sigs})),
              final: st.els.map(sig), frames};
    },
  };
})()"""

#: Screen positions of a trace's points inside the plot area (``trace`` names to keep).
POINTS_JS = r"""([selector, names]) => {
  const gd = document.querySelector(selector);
  const box = gd.querySelector('.main-svg').getBoundingClientRect();
  const fl = gd._fullLayout;
  const axis = (id, letter) => fl[id === letter ? letter + 'axis' : letter + 'axis' + id.slice(1)];
  const points = [];
  gd._fullData.forEach((trace, t) => {
    const xa = axis(trace.xaxis, 'x'), ya = axis(trace.yaxis, 'y');
    gd.calcdata[t].forEach((p, i) => {
      if (!isFinite(p.x) || !isFinite(p.y)) return;
      const px = xa.d2p(p.x), py = ya.d2p(p.y);
      points.push({trace: trace.name, index: i,
                   customdata: gd.data[t].customdata ? ((c) => (ArrayBuffer.isView(c) ? Array.from(c)
                                                                : Array.from([c]).flat()))(gd.data[t].customdata[i]) : null,
                   x: box.left + xa._offset + px, y: box.top + ya._offset + py,
                   inside: px >= 5 && px <= xa._length - 5 && py >= 5 && py <= ya._length - 5,
                   keep: names.includes(trace.name)});
    });
  });
  return points;
}"""

#: Per explorer of the page: drawn or not (for the tour row).
TOUR_WATCH_JS = r"""() => {
  const drawn = (el) => {
    const plots = Array.from(el.querySelectorAll('.js-plotly-plot'));
    if (plots.length === 0) return false;
    const title = (gd) => { const t = gd.layout && gd.layout.title;
      return t == null ? '' : (typeof t === 'string' ? t : String(t.text ?? '')); };
    const points = (gd) => (gd.data || []).reduce((n, t) =>
      n + (t.x ? t.x.length : 0) + (t.z ? t.z.length : 0), 0);
    return plots.every((gd) => gd.querySelector('.main-svg') && (gd.data || []).length > 0
                                && !title(gd).includes('computing'))
      && points(plots[0]) > 0;
  };
  // its first plot (the main view: a diagram, the mapper's main graph) drawn with data
  const first = (el) => {
    const gd = el.querySelector('.js-plotly-plot');
    if (!gd || !gd.querySelector('.main-svg') || !(gd.data || []).length) return false;
    const t = gd.layout && gd.layout.title;
    const title = t == null ? '' : (typeof t === 'string' ? t : String(t.text ?? ''));
    return !title.includes('computing') && (gd.data || []).some((tr) => (tr.x ? tr.x.length : 0) + (tr.z ? tr.z.length : 0) > 0);
  };
  const st = window.__tour = {t0: null, drawnAt: {}, appearedAt: {}, firstAt: {}, timer: null};
  const onPress = (e) => {
    if (st.t0 !== null) return;
    const item = e.target.closest && e.target.closest('.lm-Menu-item');
    if (item && /Run All Cells/.test(item.textContent)) st.t0 = performance.now();
  };
  for (const ev of ['pointerdown', 'mousedown', 'pointerup', 'mouseup', 'click'])
    window.addEventListener(ev, onPress, {capture: true});
  st.timer = setInterval(() => {
    if (st.t0 === null) return;
    const now = performance.now();
    document.querySelectorAll('.tda-explorer').forEach((el, k) => {
      if (st.appearedAt[k] === undefined) st.appearedAt[k] = now - st.t0;
      if (st.drawnAt[k] === undefined && drawn(el)) st.drawnAt[k] = now - st.t0;
      if (st.firstAt[k] === undefined && first(el)) st.firstAt[k] = now - st.t0;
    });
  }, 50);
}"""


# ============================================================================ the notebook

PE, ME, DE = ".bench-persistence", ".bench-mapper", ".bench-distances"
FE, LM = ".bench-filtration", ".bench-map"
#: the layer slider's label: one SelectionSlider "layer" (an index slider "layer #" before it)
LAYER_LABELS = ("layer", "layer #")

SETUP_CELL = '''import json
import numpy as np
from tda_widgets import load_demo, PersistenceExplorer, MapperExplorer, LayerDistanceExplorer
demo = load_demo()      # as the tour: the digits CNN and 450 held-out digits
common = dict(labels=demo.labels, class_names=demo.class_names)


def bench_forget(study, drop):
    """Evict the cache entries whose key passes drop(key), through the cache's public API
    (keys, get, clear, put; the others keep their order); the number evicted."""
    keys = study.cache.keys()
    kept = [(k, study.cache.get(k)) for k in keys if not drop(k)]
    study.cache.clear()
    for k, v in kept:
        study.cache.put(k, v)
    return len(keys) - len(kept)


def _numbers(value, total=0.0):
    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        return total
    if isinstance(value, (int, float, np.integer, np.floating)):
        return total + float(value) if np.isfinite(value) else total
    for item in (value.ravel() if isinstance(value, np.ndarray) else value):
        total = _numbers(item, total)
    return total


def bench_state(*widgets, **extra):
    """Print, as JSON, what each figure / thumbnail panel holds, as the page compares it:
    title and per trace [name, points, sum of finite x, y, z and marker opacities]; a panel's
    title and count."""
    out = []
    for w in widgets:
        if hasattr(w, "sprite"):
            out.append({"panel_title": w.title, "n_selected": len(w.selected)})
            continue
        title = w.layout.title.text if w.layout.title is not None else None
        traces = []
        for t in w.data:
            x, z = getattr(t, "x", None), getattr(t, "z", None)
            n = len(x) if x is not None else (len(z) if z is not None else 0)
            total = 0.0
            for key in ("x", "y", "z"):
                total = _numbers(getattr(t, key, None), total)
            marker = getattr(t, "marker", None)
            total = _numbers(getattr(marker, "opacity", None) if marker is not None else None, total)
            traces.append([t.name, n, total])
        out.append({"title": title or "", "traces": traces})
    print(json.dumps({"state": out, **extra}, default=str))'''

EXPLORER_CELLS = {
    "pe": f'''pe = PersistenceExplorer(demo.model, demo.images, **common, layer="block3", max_points=200)
pe.add_class("{PE[1:]}")
pe''',
    "me": f'''me = MapperExplorer(demo.model, demo.images, **common, max_points=300, show_all_layers=True)
me.add_class("{ME[1:]}")
me''',
    "de": f'''de = LayerDistanceExplorer(demo.model, demo.images, metric="bottleneck", max_points=200)
de.add_class("{DE[1:]}")
de''',
    # the cloud of bench_filtration.py: 60 points on a noisy circle
    "fe": f'''from tda_widgets import FiltrationExplorer
rng = np.random.default_rng(0)
theta = np.linspace(0, 2 * np.pi, 60, endpoint=False)
fe = FiltrationExplorer(np.c_[np.cos(theta), np.sin(theta)] + 0.05 * rng.standard_normal((60, 2)))
fe.add_class("{FE[1:]}")
fe''',
    # every one of the 450 digits on block2's map, linked with the mapper explorer ``me``
    "lm": f'''from tda_widgets import LayerMap
lm = LayerMap(demo.model, demo.images, demo.labels, layer="block2", class_names=demo.class_names)
lm.add_class("{LM[1:]}")
lm.link(me)
lm''',
}
#: Big figures (issue 27, 3): a persistence diagram of 10,000 points (WebGL markers: plotly's
#: scattergl) and a mapper graph of about 500 nodes, each in a Plot of its own.
BIG_CELL = '''import json
import numpy as np
import plotly.graph_objects as go
from tda_widgets.widgets.plot import Plot
from tda_widgets.figures.diagrams import persistence_diagram_figure
from tda_widgets.figures.mapper import mapper_graph_figure
from tda_widgets.topology.mapper import mapper_graph

def big_diagram(seed, n=10_000):
    rng = np.random.default_rng(seed)
    birth = rng.uniform(0, 1, n)
    h1 = np.stack([birth, birth + rng.exponential(0.1, n)], axis=1)
    fig = persistence_diagram_figure([np.stack([np.zeros(50), rng.uniform(0, 1, 50)], axis=1), h1],
                                     title=f"10,000 points, seed {seed}", width=500, height=450)
    # WebGL markers where plotly offers them: the H1 points as scattergl
    traces = [go.Scattergl({k: v for k, v in t.to_plotly_json().items() if k != "type"})
              if t.type == "scatter" and t.name == "H1" else t for t in fig.data]
    return go.Figure(traces, layout=fig.layout)

diagrams = [big_diagram(0), big_diagram(1)]
big_diagram_plot = Plot(diagrams[0])
rng = np.random.default_rng(0)
points = rng.uniform(0, 1, size=(4000, 2))
graph = mapper_graph(points, labels=rng.integers(0, 10, len(points)), lens="pca2", n_cubes=16, overlap=0.3,
                     min_samples=3)
graphs = [mapper_graph_figure(graph, title=f"{len(graph.nodes)} nodes, view {k}", width=600, height=500)
          for k in range(2)]
big_graph_plot = Plot(graphs[0])
display(big_diagram_plot, big_graph_plot)'''

#: which explorer each measured group needs
NEEDS = {"persist_warm": "pe", "persist_new": "pe", "hover": "pe", "mapper_new": "me",
         "mapper_seen": "me", "mapper_click": "me", "metric_new": "de", "metric_seen": "de",
         "filtration": "fe", "layer_map": "lm", "map_layer": "lm"}
#: explorers another one needs (the layer map rings the mapper explorer's nodes)
REQUIRES = {"lm": ["me"]}


# ============================================================================ WebSocket frames


def traffic(frames: list[dict]) -> dict:
    """Counts and bytes in each direction ('in' = kernel -> browser), the largest frame, and
    bytes and counts per message kind, of the page's kernel WebSocket frames (``__wsLog``
    entries; the output of the benchmark's own ``kernel_eval`` left out)."""
    out = {"in_n": 0, "in_bytes": 0, "out_n": 0, "out_bytes": 0, "largest": 0, "kinds": Counter(),
           "kind_n": Counter()}
    for f in frames:
        if f.get("foreign"):
            continue
        out[f"{f['dir']}_n"] += 1
        out[f"{f['dir']}_bytes"] += f["size"]
        out["largest"] = max(out["largest"], f["size"])
        out["kinds"][f"{f['dir']}: {f['kind']}"] += f["size"]
        out["kind_n"][f"{f['dir']}: {f['kind']}"] += 1
    return out


#: A widget message from the kernel that carries a result: a figure edit or whole figure, or the
#: thumbnail panel's selection / title (not echoes, status, or control values).
RESULT_KIND = re.compile(r"^comm_msg update .*(state|template"
                         r"|selected|title)(?! =null)$")


def breakdown(record: dict, entry: dict) -> dict:
    """Where one latency went, on the page's own clock (ms): ``send`` (the action -> the browser
    sends its first widget message), ``kernel`` (-> the first result message back: a figure edit
    or the panel's selection), ``more`` (-> the last result message before the DOM showed the
    state: the kernel's other figures), ``render`` (-> the state painted), and ``kb_in``, the
    kilobytes received until the DOM showed it. ``entry`` is the log entry of the final state.
    A frame's time is when the page's main thread handled it (after any rendering before it)."""
    t0, dom = record["t0"], entry["t"]
    painted = entry["tp"] if entry["tp"] is not None else dom
    frames = [f for f in record["frames"] if not f["foreign"] and t0 - 5 <= f["t"] <= dom]
    sent = next((f["t"] for f in frames if f["dir"] == "out" and f["kind"].startswith("comm_msg")), None)
    back = [f["t"] for f in frames if f["dir"] == "in" and RESULT_KIND.match(f["kind"])
            and (sent is None or f["t"] >= sent)]
    out = {"send": None, "kernel": None, "more": None, "render": None,
           "kb_in": sum(f["size"] for f in frames if f["dir"] == "in") / 1024}
    if sent is not None:
        out["send"] = sent - t0
        if back:
            out["kernel"] = back[0] - sent
            out["more"] = back[-1] - back[0]
            out["render"] = painted - back[-1]
    return out


# ============================================================================ helpers


def uptime_line() -> str:
    """``uptime``'s output (load averages), or the same numbers from os.getloadavg."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        import os

        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def load_now() -> float:
    import os

    return os.getloadavg()[0]


def versions_line(app: str) -> str:
    from importlib import metadata

    names = ["jupyterlab", "notebook", "ipywidgets", "anywidget", "plotly", "playwright"]
    parts = []
    for name in names:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} missing")
    try:
        chromium = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True,
                                  timeout=20).stdout.strip()
    except Exception:
        chromium = "chromium ?"
    return f"app: {app}; {chromium}; " + ", ".join(parts) + f"; viewport {VIEWPORT['width']}x{VIEWPORT['height']}"


def open_in_app(page, server: LabServer, app: str, name: str) -> None:
    """Open notebook ``name`` in JupyterLab (a reset workspace) or Notebook 7; wait for the kernel."""
    path = f"/lab/tree/{name}?reset" if app == "lab" else f"/notebooks/{name}"
    page.goto(server.url(path), wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=SLOW_MS)
    wait_kernel_idle(page, server, timeout=SLOW_MS / 1000)


def kernel_json(server: LabServer, code: str, timeout: float = 120.0) -> dict:
    """Run ``code`` in the kernel beside the page (harness.kernel_eval); its last printed line as JSON."""
    text = kernel_eval(server, code, timeout=timeout)
    try:
        return json.loads(text.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"the kernel answered {text[:1500]!r} to {code[:200]!r}") from None


def control(page, root: str, kind: str, *labels: str):
    """The ``select`` of a dropdown or the ``.noUi-handle`` of a slider labelled with one of
    ``labels`` (exactly), inside ``root``."""
    pattern = re.compile("^(" + "|".join(re.escape(label) for label in labels) + ")$")
    box = page.locator(f"{root} .widget-{kind}", has=page.locator("label.widget-label", has_text=pattern))
    return box.locator("select" if kind == "dropdown" else ".noUi-handle").first


def isolated_points(page, plot: str, names: list[str], accept: Callable[[dict], bool], count: int = 2) -> list[dict]:
    """The ``count`` accepted points of traces ``names`` farthest (in pixels) from every other
    point of the plot, so that a real mouse there can only hover that one."""
    page.locator(plot).first.scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    points = page.evaluate(POINTS_JS, [plot, names])
    scored = []
    for p in points:
        if not (p["keep"] and p["inside"] and accept(p)):
            continue
        gap = min((math.dist((p["x"], p["y"]), (q["x"], q["y"])) for q in points if q is not p
                   and q["trace"] in names), default=1e9)
        scored.append((gap, p))
    scored.sort(key=lambda gp: -gp[0])
    if len(scored) < count:
        raise RuntimeError(f"fewer than {count} hoverable points of {names} in {plot}")
    return [dict(p, gap=g) for g, p in scored[:count]]


# ============================================================================ one measurement


class Bench:
    """The page and server of one run, the measuring step, and the user actions."""

    def __init__(self, page, server: LabServer, results: Results, reps: int, app: str, verbose: bool = False):
        self.page, self.server, self.results = page, server, results
        self.reps, self.app, self.verbose = reps, app, verbose

    def measure(self, watch: list[str], events: list[str], act: Callable[[], None], confirm: str,
                groups: dict[str, list[int]], change: list[int], check: Optional[Callable[[dict], str]] = None,
                rows: Optional[dict[str, str]] = None) -> dict[str, float]:
        """One measurement.

        Arms the page on the elements ``watch`` (CSS selectors, in the order the kernel's
        ``confirm`` code prints them with ``bench_state``; the first word of the last one names
        the explorer), runs ``act``, waits until an element of ``change`` changed, the explorer's
        progress bar is hidden and the page was quiet for 1 s, asks the kernel for the final state
        (``confirm``), waits until the page holds it, unchanged for ``QUIET_MS``. Returns the
        latency in ms of each group of element indices (``groups``: name -> indices); with
        ``rows`` (group name -> row key) also records them, their breakdown and the traffic."""
        page = self.page
        busy = " ".join(watch[-1].split()[:1]) + " .tda-progress"   # the watched explorer's progress bar
        page.evaluate("([w, e]) => window.__bench.arm(w, e)", [watch, events])
        try:
            act()
            page.wait_for_function("(i) => window.__bench.changed(i)", arg=change, timeout=WAIT_MS, polling=50)
            # Let the rest of the update arrive before talking to the kernel (kernel_eval shares the
            # CPU): the explorer's progress bar hidden again (its job ended after its last figure
            # edit) and nothing changed for a second.
            page.wait_for_function(
                """(busy) => Array.from(document.querySelectorAll(busy)).every(
                       (el) => getComputedStyle(el).visibility === 'hidden') && window.__bench.quiet(1000)""",
                arg=busy, timeout=WAIT_MS, polling=100)
            expected = kernel_json(self.server, confirm)
            try:
                page.wait_for_function("([w, q]) => window.__bench.settled(w, q)",
                                       arg=[expected["state"], QUIET_MS], timeout=WAIT_MS, polling=50)
            except Exception:
                seen = page.evaluate("(w) => window.__bench.describe(w)", expected["state"])
                raise RuntimeError(f"the page never showed the kernel's state {json.dumps(expected)[:1500]}; "
                                   f"it shows {seen}") from None
        except BaseException:
            page.evaluate("() => window.__bench.disarm()")
            raise
        record = page.evaluate("() => window.__bench.disarm()")
        if record["t0"] is None:
            raise RuntimeError(f"the action's {events} event never reached the page")
        if check is not None:   # the kernel's own account: what was computed, what is selected
            problem = check(expected)
            if problem:
                raise RuntimeError(problem)
        finals = {name: self._final_entry(record, indices) for name, indices in groups.items()}
        latencies = {name: max(0.0, (e["tp"] if e["tp"] is not None else e["t"]) - record["t0"])
                     for name, e in finals.items()}
        if self.verbose:
            print("    " + self.timeline(record, latencies))
        if rows:
            for name, key in rows.items():
                self.results.times[key].append(latencies[name])
                self.results.breakdown[key].append(breakdown(record, finals[name]))
            self.results.traffic[next(iter(rows.values()))].append(traffic(record["frames"]))
        return latencies

    @staticmethod
    def timeline(record: dict, latencies: dict[str, float]) -> str:
        """The measurement in order: DOM changes ('dom' and the indices of the elements that
        changed; '=' once all show the final state) and kernel WebSocket frames, in ms after the
        action; the page's painted times after a slash."""
        t0, log, final = record["t0"], record["log"], record["final"]
        events = []
        for before, entry in zip(log, log[1:]):
            changed = "".join(str(i) for i, (a, b) in enumerate(zip(before["sigs"], entry["sigs"])) if a != b)
            painted = f"/{entry['tp'] - t0:.0f}" if entry["tp"] is not None else ""
            events.append((entry["t"], f"{entry['t'] - t0:.0f}{painted} dom[{changed}]"
                                       f"{'=' if entry['sigs'] == final else ''}"))
        end = t0 + max(latencies.values()) + 200
        for f in record["frames"]:
            if not f["foreign"] and t0 - 5 <= f["t"] <= end:
                events.append((f["t"], f"{f['t'] - t0:.0f} {f['dir']} {f['kind'][:60]} {f['size'] / 1024:.1f}KB"))
        events.sort(key=lambda e: e[0])
        shown = ", ".join(f"{k} {v:.0f} ms" for k, v in latencies.items())
        return f"[{shown}] " + " | ".join(text for _, text in events)

    @staticmethod
    def _final_entry(record: dict, indices: list[int]) -> dict:
        """The first log entry in which elements ``indices`` show their final state: its ``tp``
        (painted) minus ``t0`` is the latency."""
        log, final = record["log"], record["final"]
        if all(log[0]["sigs"][i] == final[i] for i in indices):
            raise RuntimeError("the action changed nothing in the watched elements")
        for entry in log[1:]:
            if all(entry["sigs"][i] == final[i] for i in indices):
                return entry
        raise RuntimeError("the final state is missing from the log")

    def run_group(self, key: str, body: Callable[[], None]) -> None:
        """Run one group's measurements; an error is recorded (and printed), never raised."""
        started = time.monotonic()
        try:
            body()
        except Exception as exc:  # one row's failure must not lose the others
            self.results.errors[key] = f"{type(exc).__name__}: {str(exc)[:600]}"
            print(f"  {key}: NOT MEASURED: {self.results.errors[key]}", flush=True)
            traceback.print_exc(limit=3, file=sys.stdout)
        finally:
            print(f"  ({key} took {time.monotonic() - started:.0f} s)", flush=True)

    # ------------------------------------------------------------------ user actions

    def press_slider(self, root: str, labels: tuple[str, ...], key: str) -> Callable[[], None]:
        """A key press on the slider's focused handle (noUiSlider: one step per arrow key)."""
        handle = control(self.page, root, "slider", *labels)
        handle.focus()
        return lambda: self.page.keyboard.press(key)

    def select(self, root: str, label: str, option: str) -> Callable[[], None]:
        select = control(self.page, root, "dropdown", label)
        return lambda: select.select_option(label=option)

    def mouse_onto(self, x: float, y: float, click: bool = False) -> Callable[[], None]:
        """Real mouse moves onto (x, y) (twice: Plotly throttles hover), then a click if asked."""
        page = self.page
        page.mouse.move(5, 5)
        page.wait_for_timeout(150)

        def act():
            page.mouse.move(x + 2, y + 2)
            page.mouse.move(x, y)
            if click:
                page.mouse.click(x, y)
        return act


# ============================================================================ the groups


def stats_delta(before: dict, counter: str, want: Optional[int]) -> Callable[[dict], str]:
    """A check of the kernel's ``study.stats``: ``counter`` grew by ``want`` (None: by at least 1)."""
    def check(expected: dict) -> str:
        grew = expected["stats"][counter] - before[counter]
        if (want is None and grew < 1) or (want is not None and grew != want):
            return (f"study.stats[{counter!r}] grew by {grew}, expected "
                    f"{'at least 1' if want is None else want}: not the computation this row measures")
        return ""
    return check


def persistence_groups(bench: Bench, wanted: set[str]) -> None:
    """persist_new, persist_warm: the layer slider of ``pe`` between block3 and fc1; done when
    the diagram AND the barcode show the kernel's figures."""
    layers = ["block3", "fc1"]      # the slider's positions 2 and 3
    watch = [f"{PE} .js-plotly-plot"]
    confirm = "pe.wait(); bench_state(pe.diagram_fig, pe.barcode_fig, stats=pe.study.stats, layer=pe.layer)"
    n_plots = 2
    both = list(range(n_plots))

    def current() -> dict:
        return kernel_json(bench.server, "pe.wait(); print(json.dumps({'layer': pe.layer, 'stats': pe.study.stats}))")

    def move(target: str, check=None, row=None) -> float:
        key = "ArrowRight" if layers.index(target) == 1 else "ArrowLeft"
        act = bench.press_slider(PE, LAYER_LABELS, key)
        out = bench.measure(watch, ["keydown"], act, confirm, {"all": both}, change=both,
                            check=check, rows={"all": row} if row else None)
        return out["all"]

    state = current()
    if state["layer"] not in layers:
        raise RuntimeError(f"the persistence explorer shows {state['layer']}, not one of {layers}")
    if "persist_new" in wanted:
        def body():
            for k in range(bench.reps):
                state = current()
                target = layers[1 - layers.index(state["layer"])]
                evicted = kernel_json(bench.server, (
                    f"pe.forget_views(); print(json.dumps(bench_forget(pe.study, lambda k: k[0] in ('activations', 'cloud', "
                    f"'diagrams') and len(k) > 3 and k[3] == {target!r})))"))
                # nothing to evict the first time a layer is shown; stats_delta checks the computation
                ms = move(target, stats_delta(state["stats"], "persistence", 1), "persist_new")
                print(f"  persist_new rep {k + 1}: {state['layer']} -> {target} (new, {evicted} entries evicted) "
                      f"{ms:.0f} ms", flush=True)
        bench.run_group("persist_new", body)
    if "persist_warm" in wanted:
        def body():
            for _ in range(2):  # both layers computed (untimed)
                move(layers[1 - layers.index(current()["layer"])])
            for k in range(bench.reps):
                state = current()
                target = layers[1 - layers.index(state["layer"])]
                ms = move(target, stats_delta(state["stats"], "persistence", 0), "persist_warm")
                print(f"  persist_warm rep {k + 1}: {state['layer']} -> {target} (seen) {ms:.0f} ms", flush=True)
        bench.run_group("persist_warm", body)


def hover_group(bench: Bench, wanted: set[str]) -> None:
    """hover: the real mouse onto one of two isolated finite H1 points of ``pe``'s diagram, in
    turn; done when the thumbnail panel shows the kernel's selection (the bar under the mouse)."""
    plot = f"{PE} .js-plotly-plot"
    panel = f"{PE} .tdaw-thumbs"

    def body():
        kernel_json(bench.server, "pe.wait(); print('{}')")
        points = isolated_points(bench.page, plot, ["H1"], lambda p: p["customdata"] is not None
                                 and isinstance(p["customdata"][3], (int, float)) and math.isfinite(p["customdata"][3]))
        print("  hover points: " + ", ".join(f"H{int(p['customdata'][0])} bar {int(p['customdata'][1])} "
                                             f"({p['gap']:.0f} px apart)" for p in points), flush=True)
        confirm = ("bench_state(pe.thumbnails, selected=pe.selected_bar)")
        for k in range(bench.reps + 1):  # the first is untimed (the panel starts empty)
            p = points[k % 2]
            act = bench.mouse_onto(p["x"], p["y"])
            want = [int(p["customdata"][0]), int(p["customdata"][1])]
            check = lambda e, want=want: "" if e["selected"] == want else (  # noqa: E731
                f"the kernel selected bar {e['selected']}, the mouse was on {want}")
            out = bench.measure([panel], ["mousemove"], act, confirm, {"panel": [0]}, change=[0], check=check,
                                rows={"panel": "hover"} if k else None)
            if k:
                print(f"  hover rep {k}: H1 bar {int(p['customdata'][1])} {out['panel']:.0f} ms", flush=True)
    bench.run_group("hover", body)


def mapper_groups(bench: Bench, wanted: set[str]) -> None:
    """mapper_new, mapper_seen (the intervals slider of ``me``, 10 <-> 11) and mapper_click (two
    isolated nodes of the main graph in turn); done when the graphs (and the panel) show the
    kernel's state."""
    plots = f"{ME} .js-plotly-plot"
    panel = f"{ME} .tdaw-thumbs"
    figures = "me.main_fig, *me.layer_figs.values()"
    confirm = f"me.wait(); bench_state({figures}, stats=me.study.stats, n_cubes=me.n_cubes)"
    values = [10, 11]

    def current() -> dict:
        return kernel_json(bench.server, "me.wait(); print(json.dumps({'n_cubes': me.n_cubes, 'stats': me.study.stats, "
                                         "'layers': len(me.layer_figs)}))")

    state = current()
    n_graphs = 1 + state["layers"]
    every = list(range(n_graphs))
    if state["n_cubes"] not in values:
        raise RuntimeError(f"the mapper explorer has {state['n_cubes']} intervals, not one of {values}")

    def move(target: int, check=None, row=None) -> dict:
        key = "ArrowRight" if target > current()["n_cubes"] else "ArrowLeft"
        act = bench.press_slider(ME, ("intervals",), key)
        return bench.measure([plots], ["keydown"], act, confirm, {"main": [0], "all": every}, change=[0],
                             check=check, rows={"main": row, "all": row + "_all"} if row else None)

    if "mapper_new" in wanted:
        def body():
            for k in range(bench.reps):
                state = current()
                target = values[1 - values.index(state["n_cubes"])]
                evicted = kernel_json(bench.server, (
                    f"me.forget_views(); print(json.dumps(bench_forget(me.study, lambda k: k[0] == 'mapper' and len(k) > 6 "
                    f"and k[6] == {target})))"))
                out = move(target, stats_delta(state["stats"], "mapper", n_graphs - 1), "mapper_new")
                print(f"  mapper_new rep {k + 1}: intervals {state['n_cubes']} -> {target} (new, {evicted} "
                      f"graphs evicted): main graph "
                      f"{out['main']:.0f} ms, all {n_graphs} graphs {out['all']:.0f} ms", flush=True)
        bench.run_group("mapper_new", body)
    if "mapper_seen" in wanted:
        def body():
            for _ in range(2):
                move(values[1 - values.index(current()["n_cubes"])])
            for k in range(bench.reps):
                state = current()
                target = values[1 - values.index(state["n_cubes"])]
                out = move(target, stats_delta(state["stats"], "mapper", 0), "mapper_seen")
                print(f"  mapper_seen rep {k + 1}: intervals {state['n_cubes']} -> {target} (seen): main graph "
                      f"{out['main']:.0f} ms, all {n_graphs} graphs {out['all']:.0f} ms", flush=True)
        bench.run_group("mapper_seen", body)
    if "mapper_click" in wanted:
        def body():
            kernel_json(bench.server, "me.wait(); print('{}')")
            main = f"{ME} .js-plotly-plot"
            nodes = isolated_points(bench.page, main, ["nodes"], lambda p: p["customdata"] is not None)
            print("  click nodes: " + ", ".join(f"{p['customdata'][0]} ({p['gap']:.0f} px apart)" for p in nodes),
                  flush=True)
            click_confirm = f"bench_state(me.thumbnails, {figures}, selected=me.selected_node)"
            for k in range(bench.reps + 1):  # the first is untimed (from the unselected state)
                node = nodes[k % 2]
                act = bench.mouse_onto(node["x"], node["y"], click=True)
                want = f":{node['customdata'][0]}"
                check = lambda e, want=want: "" if str(e["selected"]).endswith(want) else (  # noqa: E731
                    f"the kernel selected node {e['selected']}, the mouse clicked {want[1:]}")
                out = bench.measure([panel, plots], ["mousemove"], act, click_confirm,
                                    {"all": list(range(1 + n_graphs)), "panel": [0]}, change=[0], check=check,
                                    rows={"all": "mapper_click", "panel": "mapper_click_thumbs"} if k else None)
                if k:
                    print(f"  mapper_click rep {k}: node {node['customdata'][0]}: thumbnails {out['panel']:.0f} ms, "
                          f"thumbnails + rings {out['all']:.0f} ms", flush=True)
        bench.run_group("mapper_click", body)


def distance_groups(bench: Bench, wanted: set[str]) -> None:
    """metric_new, metric_seen: ``de``'s metric dropdown, bottleneck <-> wasserstein-1; done when
    the heat map shows the kernel's figure."""
    watch = [f"{DE} .js-plotly-plot"]
    confirm = "de.wait(); bench_state(de.heatmap_fig, de.matching_fig, stats=de.study.stats, metric=de.metric)"
    metrics = ["bottleneck", "wasserstein-1"]

    def current() -> dict:
        return kernel_json(bench.server, "de.wait(); print(json.dumps({'metric': de.metric, 'stats': de.study.stats}))")

    def choose(target: str, check=None, row=None) -> float:
        act = bench.select(DE, "metric", target)
        return bench.measure(watch, ["input", "change"], act, confirm, {"heatmap": [0]}, change=[0],
                             check=check, rows={"heatmap": row} if row else None)["heatmap"]

    if "metric_new" in wanted:
        def body():
            for k in range(bench.reps):
                if current()["metric"] != "bottleneck":
                    choose("bottleneck")   # untimed: back to the metric shown first
                state = current()
                evicted = kernel_json(bench.server, (
                    "de.forget_views(); print(json.dumps(bench_forget(de.study, lambda k: k[0] == 'distances' and 'wasserstein-1' in k)))"))
                ms = choose("wasserstein-1", stats_delta(state["stats"], "distance_matrices", 1), "metric_new")
                print(f"  metric_new rep {k + 1}: bottleneck -> wasserstein-1 (first time, "
                      f"{evicted} matrix evicted) {ms:.0f} ms", flush=True)
        bench.run_group("metric_new", body)
    if "metric_seen" in wanted:
        def body():
            for _ in range(2):
                choose(metrics[1 - metrics.index(current()["metric"])])
            for k in range(bench.reps):
                state = current()
                target = metrics[1 - metrics.index(state["metric"])]
                ms = choose(target, stats_delta(state["stats"], "distance_matrices", 0), "metric_seen")
                print(f"  metric_seen rep {k + 1}: {state['metric']} -> {target} (seen) {ms:.0f} ms", flush=True)
        bench.run_group("metric_seen", body)


def filtration_group(bench: Bench, wanted: set[str]) -> None:
    """filt_warm, filt_cold (issue 32): the FiltrationExplorer's step slider. Warm: ArrowRight /
    ArrowLeft between steps 20 and 21, both drawn before (the page swaps in the drawing, diagram
    and barcode it holds); the kernel confirms no new drawing. Cold: ArrowRight onto a step never
    shown (the kernel first puts the slider one below it, untimed); the kernel confirms one new
    drawing. Done when all three plots show the kernel's figures."""
    watch = [f"{FE} .js-plotly-plot"]
    confirm = ("fe.wait(); bench_state(fe.filtration_fig, fe.diagram_fig, fe.barcode_fig, "
               "step=fe.step_slider.value, drawn=len(fe._step_views))")
    every = [0, 1, 2]

    def current() -> dict:
        return kernel_json(bench.server, "fe.wait(); print(json.dumps({'step': fe.step_slider.value, "
                                         "'drawn': len(fe._step_views), 'steps': list(fe._step_views)}))")

    def check(before: dict, step: int, grew: int) -> Callable[[dict], str]:
        def run(expected: dict) -> str:
            if expected["step"] != step:
                return f"the kernel is on step {expected['step']}, the key moved to {step}"
            if expected["drawn"] - before["drawn"] != grew:
                return (f"{expected['drawn'] - before['drawn']} new drawings, expected {grew}: not the step "
                        "this row measures")
            return ""
        return run

    def move(step: int, row: Optional[str]) -> float:
        state = current()
        key = "ArrowRight" if step > state["step"] else "ArrowLeft"
        act = bench.press_slider(FE, ("edge length",), key)
        grew = 0 if step in state["steps"] else 1
        return bench.measure(watch, ["keydown"], act, confirm, {"all": every}, change=every,
                             check=check(state, step, grew), rows={"all": row} if row else None)["all"]

    def body_warm():
        for step in (20, 21, 20):   # both drawn (untimed)
            kernel_json(bench.server, f"fe.step_slider.value = {step}; print(json.dumps(1))")
        bench.page.wait_for_timeout(500)
        for k in range(bench.reps):
            target = 21 if k % 2 == 0 else 20
            ms = move(target, "filt_warm")
            print(f"  filt_warm rep {k + 1}: step {41 - target} -> {target} (seen) {ms:.0f} ms", flush=True)

    def body_cold():
        for k in range(bench.reps):
            target = kernel_json(bench.server, "print(json.dumps(min(s for s in range(2, 59) "
                                               "if s not in fe._step_views)))")
            kernel_json(bench.server, f"fe.step_slider.value = {target - 1}; fe.wait(); print(json.dumps(1))")
            bench.page.wait_for_timeout(500)
            ms = move(target, "filt_cold")
            print(f"  filt_cold rep {k + 1}: step {target - 1} -> {target} (new) {ms:.0f} ms", flush=True)

    bench.run_group("filtration", lambda: (body_warm(), body_cold()))


def layer_map_group(bench: Bench, wanted: set[str]) -> None:
    """map_hover, map_select (issue 32): the LayerMap of block2 (450 digits) linked with ``me``.
    Hover: the real mouse onto one of two isolated points in turn, done when the map's thumbnail
    panel shows that image (the kernel confirms which). Select: a lasso drawn with the real mouse
    around the left, then the right third of the map's points, timed from the mouse-up until the
    map's thumbnails and the rings of every graph of the mapper explorer show the kernel's state."""
    plot = f"{LM} .js-plotly-plot"
    panel = f"{LM} .tdaw-thumbs"
    mapper = f"{ME} .js-plotly-plot"

    def body():
        kernel_json(bench.server, "lm.wait(); me.wait(); print('{}')")
        images = kernel_json(bench.server, "print(json.dumps(lm.image_index_.tolist()))")
        points = isolated_points(bench.page, plot, ["points"], lambda p: p["customdata"] is not None)
        confirm = "bench_state(lm.thumbnails, shown=list(lm.thumbnails.selected))"
        for k in range(bench.reps + 1):  # the first is untimed (the panel starts empty)
            p = points[k % 2]
            want = [images[int(p["customdata"][0])]]
            check = lambda e, want=want: "" if e["shown"] == want else (  # noqa: E731
                f"the kernel shows images {e['shown']}, the mouse was on image {want}")
            out = bench.measure([panel], ["mousemove"], bench.mouse_onto(p["x"], p["y"]), confirm,
                                {"panel": [0]}, change=[0], check=check, rows={"panel": "map_hover"} if k else None)
            if k:
                print(f"  map_hover rep {k}: image {want[0]} {out['panel']:.0f} ms", flush=True)
        every = bench.page.evaluate("(s) => document.querySelectorAll(s).length", mapper)
        all_points = bench.page.evaluate(POINTS_JS, [plot, ["points"]])
        xs = sorted(p["x"] for p in all_points if p["keep"] and p["inside"])
        ys = sorted(p["y"] for p in all_points if p["keep"] and p["inside"])
        left, right, top, bottom = xs[0] - 4, xs[-1] + 4, ys[0] - 4, ys[-1] + 4
        third = (right - left) / 3
        regions = [(left, left + third), (right - third, right)]
        select_confirm = ("me.wait(); bench_state(lm.thumbnails, me.main_fig, *me.layer_figs.values(), "
                          "selected=len(lm.selected))")

        def lasso(x0: float, x1: float) -> Callable[[], None]:
            mouse = bench.page.mouse
            mouse.move(x0, top)

            def act():
                mouse.down()
                for x, y in ((x1, top), (x1, bottom), (x0, bottom), (x0, top + 1)):
                    mouse.move(x, y, steps=6)
                mouse.up()
            return act

        for k in range(bench.reps + 1):  # the first is untimed
            x0, x1 = regions[k % 2]
            check = lambda e: "" if e["selected"] > 0 else "the lasso selected no image"  # noqa: E731
            out = bench.measure([panel, mapper], ["mouseup"], lasso(x0, x1), select_confirm,
                                {"all": list(range(1 + every)), "panel": [0]}, change=[0], check=check,
                                rows={"all": "map_select", "panel": "map_select_thumbs"} if k else None)
            if k:
                print(f"  map_select rep {k}: {'left' if k % 2 == 0 else 'right'} third: thumbnails "
                      f"{out['panel']:.0f} ms, thumbnails + rings in {every} graphs {out['all']:.0f} ms", flush=True)
    bench.run_group("layer_map", body)


def map_layer_group(bench: Bench, wanted: set[str]) -> None:
    """map_layer (issue 32, 3): the LayerMap's layer slider between block2 and block3, both mapped
    before (ArrowRight / ArrowLeft on its focused handle); done when the map shows the kernel's
    figure, and the kernel confirms that no new map was computed. Ends on block2."""
    layers = ["block2", "block3"]      # the slider's positions 1 and 2
    watch = [f"{LM} .js-plotly-plot"]
    confirm = "lm.wait(); bench_state(lm.map_fig, maps=len(lm.maps_), layer=lm.layer)"

    def current() -> dict:
        return kernel_json(bench.server, "lm.wait(); print(json.dumps({'layer': lm.layer, 'maps': len(lm.maps_)}))")

    def move(target: str, check=None, row=None) -> float:
        key = "ArrowRight" if layers.index(target) == 1 else "ArrowLeft"
        act = bench.press_slider(LM, LAYER_LABELS, key)
        out = bench.measure(watch, ["keydown"], act, confirm, {"map": [0]}, change=[0],
                            check=check, rows={"map": row} if row else None)
        return out["map"]

    def body():
        if current()["layer"] not in layers:
            raise RuntimeError(f"the layer map shows {current()['layer']}, not one of {layers}")
        for _ in range(2):  # both layers mapped (untimed)
            move(layers[1 - layers.index(current()["layer"])])
        for k in range(bench.reps):
            state = current()
            target = layers[1 - layers.index(state["layer"])]
            check = lambda e, n=state["maps"]: "" if e["maps"] == n else (  # noqa: E731
                f"the layer map computed {e['maps'] - n} new map(s): not a layer seen before")
            ms = move(target, check, "map_layer")
            print(f"  map_layer rep {k + 1}: {state['layer']} -> {target} (seen) {ms:.0f} ms", flush=True)
        if current()["layer"] != layers[0]:
            move(layers[0])
    bench.run_group("map_layer", body)


def interactive_rows(bench: Bench, groups: list[str]) -> None:
    """One notebook with the explorers these groups need, run in a fresh kernel; then each group."""
    direct = {NEEDS[g] for g in groups}
    direct |= {other for name in set(direct) for other in REQUIRES.get(name, [])}
    needed = [name for name in ("pe", "me", "de", "fe", "lm") if name in direct]
    cells = [SETUP_CELL] + [EXPLORER_CELLS[name] for name in needed]
    write_notebook(bench.server.root, "bench_explorers.ipynb", cells)
    bench.server.delete_sessions()
    started = time.monotonic()
    open_in_app(bench.page, bench.server, bench.app, "bench_explorers.ipynb")
    run_all_cells(bench.page, bench.server, timeout=240)
    waited = kernel_json(bench.server, "; ".join(f"{n}.wait()" for n in needed)
                         + "; print(json.dumps([" + ", ".join(f"{n}.state" for n in needed) + "]))", timeout=300)
    if any(state != "done" for state in waited):
        raise RuntimeError(f"explorers {needed} ended in states {waited}")
    bench.page.wait_for_function(
        "() => { const p = document.querySelectorAll('.tda-explorer .js-plotly-plot');"
        " return p.length > 0 && Array.from(p).every((gd) => gd.querySelector('.main-svg') && gd.data); }",
        timeout=WAIT_MS)
    print(f"explorers {needed} ready in {time.monotonic() - started:.1f} s (fresh kernel)", flush=True)

    wanted = set(groups)
    families = [(persistence_groups, {"persist_new", "persist_warm"}), (hover_group, {"hover"}),
                (mapper_groups, {"mapper_new", "mapper_seen", "mapper_click"}),
                (distance_groups, {"metric_new", "metric_seen"}), (filtration_group, {"filtration"}),
                (layer_map_group, {"layer_map"}), (map_layer_group, {"map_layer"})]
    for run, family in families:
        if wanted & family:
            try:
                run(bench, wanted)
            except Exception as exc:   # before its groups started: record it for each of them
                for group in wanted & family:
                    bench.results.errors.setdefault(group, f"{type(exc).__name__}: {str(exc)[:300]}")
                traceback.print_exc(limit=3, file=sys.stdout)


def big_rows(bench: Bench) -> None:
    """Big figures: the kernel's ``plot.show(figure)`` (or a restyle of the rings) until the page
    has painted it, on the page's clock (from just before the kernel is asked)."""
    write_notebook(bench.server.root, "bench_big.ipynb", [BIG_CELL])
    bench.server.delete_sessions()
    open_in_app(bench.page, bench.server, bench.app, "bench_big.ipynb")
    run_all_cells(bench.page, bench.server, timeout=600)
    plots = ".tdaw-plot"
    bench.page.wait_for_function(
        "(sel) => [...document.querySelectorAll(sel + ' .js-plotly-plot')].filter((gd) => gd.data).length >= 2",
        arg=plots, timeout=WAIT_MS)
    nodes = kernel_json(bench.server, "print(json.dumps(len(graph.nodes)))")
    print(f"big figures ready: diagram of 10,050 points, mapper graph of {nodes} nodes", flush=True)
    wait_js = """([sel, nth, want, since]) => {
        const el = document.querySelectorAll(sel)[nth];
        const gd = el && [...el.querySelectorAll('.js-plotly-plot')].find((g) => !g.classList.contains('tdaw-hidden'));
        if (!gd || !gd.layout) return false;
        const title = String(gd.layout.title?.text ?? '');
        if (want.title && !title.startsWith(want.title)) return false;
        if (want.rings !== undefined) {
            const t = gd.data.find((t) => t.name === 'highlight');
            const n = t ? Array.from(t.marker.opacity || []).filter((o) => o > 0).length : -1;
            if (n !== want.rings) return false;
        }
        return new Promise((resolve) => requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - since))));
    }"""

    def timed(nth: int, code: str, want: dict) -> float:
        since = bench.page.evaluate("() => performance.now()")
        kernel_json(bench.server, code + "\nprint(json.dumps(1))")
        return bench.page.wait_for_function(wait_js, arg=[plots, nth, want, since], timeout=WAIT_MS,
                                            polling="raf").json_value()

    def body():
        for k in range(bench.reps):
            # forgotten views: the page draws both views anew, then swaps the first back in
            first, other = k % 2, 1 - k % 2
            kernel_json(bench.server, "big_diagram_plot.forget()\nprint(json.dumps(1))")
            for view, row in ((other, "big_diagram"), (first, None), (other, "big_diagram_seen")):
                latency = timed(0, f"big_diagram_plot.show(diagrams[{view}])", {"title": f"10,000 points, seed {view}"})
                if row:
                    bench.results.times[row].append(latency)
            # a new graph figure each time (a copy: new content id, drawn as the first time)
            title = f"{nodes} nodes, rep {k}"
            bench.results.times["big_graph"].append(timed(
                1, f"big_graph_plot.show(mapper_graph_figure(graph, title={title!r}, width=600, height=500))",
                {"title": title}))
            ring = kernel_json(bench.server, "names = big_graph_plot.trace_names(); r = names.index('highlight')\n"
                               "n = len(big_graph_plot.trace_value(r, 'customdata'))\n"
                               "print(json.dumps([r, n]))")
            wanted = min(ring[1], 20 + k)
            bench.results.times["big_graph_rings"].append(timed(
                1, f"big_graph_plot.restyle({ring[0]}, {{'marker.opacity': np.r_[np.ones({wanted}), "
                   f"np.zeros({ring[1] - wanted})]}})", {"rings": wanted}))
            print(f"  big rep {k + 1}: " + ", ".join(f"{key} {bench.results.times[key][-1]:.0f} ms"
                  for key in ("big_diagram", "big_diagram_seen", "big_graph", "big_graph_rings")), flush=True)
    bench.run_group("big", body)


def tour_rows(bench: Bench) -> None:
    """Run All on the tour, each repetition in a fresh kernel and a freshly loaded page."""
    shutil.copy(TOUR, bench.server.root / TOUR.name)

    def body():
        for k in range(bench.reps):
            bench.server.delete_sessions()
            open_in_app(bench.page, bench.server, bench.app, TOUR.name)
            bench.page.evaluate(TOUR_WATCH_JS)
            started = time.monotonic()
            run_all_cells(bench.page, bench.server, timeout=TOUR_TIMEOUT_S)
            ran = time.monotonic() - started
            bench.page.wait_for_function(
                f"() => window.__tour.t0 !== null && Object.keys(window.__tour.drawnAt).length >= {TOUR_EXPLORERS}",
                timeout=180_000, polling=200)
            drawn, appeared, firsts, frames, replies = bench.page.evaluate("""() => {
                const st = window.__tour;
                clearInterval(st.timer);
                const end = st.t0 + Math.max(...Object.values(st.drawnAt));
                const frames = window.__wsLog.filter((f) => f.t >= st.t0);
                const replies = frames.filter((f) => f.kind === 'execute_reply' && !f.foreign).map((f) => f.t - st.t0);
                return [st.drawnAt, st.appearedAt, st.firstAt, frames.filter((f) => f.t <= end), replies];
            }""")
            bench.page.wait_for_timeout(3000)  # tasks that follow the last drawing
            tasks = bench.page.evaluate("""() => window.__longTasks.filter(([t]) => t >= window.__tour.t0)
                .map(([t, d]) => [t - window.__tour.t0, d])""")
            idle_at = max(replies) if replies else 0.0
            after_idle = [d for t, d in tasks if t + d > idle_at]
            bench.results.times["tour_longest_task_after_idle"].append(max(after_idle, default=0.0))
            print(f"  tour rep {k + 1}: long tasks (> 50 ms) after Run All: "
                  + ", ".join(f"{t / 1000:.1f} s +{d:.0f} ms" for t, d in tasks if d > 150)
                  + f"; longest once the kernel was idle ({idle_at / 1000:.1f} s): {max(after_idle, default=0):.0f} ms"
                  + " (goal <= 300 ms)", flush=True)
            bench.results.traffic["tour_all"].append(traffic(frames))
            times = [drawn[str(i)] for i in range(len(drawn))]
            bench.results.tour.append([(appeared[str(i)], t, firsts.get(str(i), t)) for i, t in enumerate(times)])
            bench.results.times["tour_first"].append(min(times))
            bench.results.times["tour_all"].append(max(times))
            print(f"  tour rep {k + 1}: explorers shown (cell output) -> main view drawn -> all drawn at "
                  + ", ".join(f"{appeared[str(i)] / 1000:.1f}->{firsts.get(str(i), t) / 1000:.1f}->{t / 1000:.1f}"
                              for i, t in enumerate(times))
                  + " s after Run All; code cells done at " + ", ".join(f"{t / 1000:.1f}" for t in replies)
                  + f" s (all done and idle after {ran:.1f} s)", flush=True)
    bench.run_group("tour", body)


# ============================================================================ report


def fmt_ms(ms: float) -> str:
    return f"{ms:.0f}" if ms < 10_000 else f"{ms / 1000:.1f} s"


def report(results: Results, groups: list[str], load_start: float) -> str:
    keys = [key for g in groups for key in GROUPS[g]]
    print()
    print("| action | median ms | min | max | n | goal | met? |")
    print("|---|---:|---:|---:|---:|---|---|")
    met = counted = 0
    for key in keys:
        row = ROW_BY_KEY[key]
        group = next(g for g in groups if key in GROUPS[g])
        times = results.times.get(key, [])
        goal = f"<= {fmt_ms(row.goal_ms)} ms" if row.goal_ms is not None else "(info)"
        if row.goal_ms is not None:
            counted += 1
        if not times:
            reason = results.errors.get(group, "not run")
            print(f"| {row.label} | not measured | | | 0 | {goal} | no: {reason[:120]} |")
            continue
        median = statistics.median(times)
        ok = row.goal_ms is not None and median <= row.goal_ms
        met += ok
        verdict = "—" if row.goal_ms is None else ("yes" if ok else "NO")
        partial = f" (error after {len(times)}: {results.errors[group][:80]})" if group in results.errors else ""
        print(f"| {row.label} | {fmt_ms(median)} | {fmt_ms(min(times))} | {fmt_ms(max(times))} | {len(times)} "
              f"| {goal} | {verdict}{partial} |")

    if results.traffic:
        print()
        print("Kernel WebSocket traffic per repetition (median; 'in' = kernel -> browser), and the "
              "message kinds that carried the most bytes in all repetitions:")
        print()
        print("| action | frames in | KB in | frames out | KB out | largest frame KB | biggest kinds (KB over all reps, count) |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for key, reps in results.traffic.items():
            kinds, counts = Counter(), Counter()
            for r in reps:
                kinds.update(r["kinds"])
                counts.update(r["kind_n"])
            top = "; ".join(f"{kind} {size / 1024:.0f} ({counts[kind]})" for kind, size in kinds.most_common(3))
            med = lambda name: statistics.median(r[name] for r in reps)  # noqa: E731
            print(f"| {key} | {med('in_n'):.0f} | {med('in_bytes') / 1024:.0f} | {med('out_n'):.0f} | "
                  f"{med('out_bytes') / 1024:.0f} | {max(r['largest'] for r in reps) / 1024:.0f} | {top} |")
    if results.tour:
        print()
        print("Run All on the tour, per explorer in notebook order (medians, s after Run All): its cell's output "
              "shown, its first plot (main view) drawn with data, every plot drawn with data:")
        print()
        print("| explorer | output shown | main view drawn | all drawn | main - shown | all - shown |")
        print("|---|---:|---:|---:|---:|---:|")
        for k in range(min(len(r) for r in results.tour)):
            shown = statistics.median(r[k][0] for r in results.tour) / 1000
            drawn = statistics.median(r[k][1] for r in results.tour) / 1000
            gap = statistics.median(r[k][1] - r[k][0] for r in results.tour) / 1000
            main = statistics.median(r[k][2] for r in results.tour) / 1000
            main_gap = statistics.median(r[k][2] - r[k][0] for r in results.tour) / 1000
            name = TOUR_NAMES[k] if len(TOUR_NAMES) == TOUR_EXPLORERS else str(k + 1)
            print(f"| {name} | {shown:.1f} | {main:.1f} | {drawn:.1f} | {main_gap:.1f} | {gap:.1f} |")
    if results.breakdown:
        print()
        print("Where the time went (medians, ms on the page's clock): send = action -> the browser's first "
              "widget message; kernel = -> the kernel's first result message (figure edit, panel selection); "
              "more = -> its last one before the state showed; render = -> the state painted:")
        print()
        print("| action | send | kernel | more | render | KB received |")
        print("|---|---:|---:|---:|---:|---:|")
        for key, reps in results.breakdown.items():
            def med(name):
                values = [r[name] for r in reps if r[name] is not None]
                return f"{statistics.median(values):.0f}" if values else "—"
            print(f"| {key} | {med('send')} | {med('kernel')} | {med('more')} | {med('render')} | {med('kb_in')} |")
    print()
    print(f"load average at the end: {uptime_line()}")
    return f"bench_browser: {met} of {counted} goals met (load {load_start:.2f})"


# ============================================================================ main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5, help="repetitions per latency (median; default 5)")
    parser.add_argument("--only", default="", help="comma list of " + ", ".join(GROUPS) + " (default: all)")
    parser.add_argument("--app", choices=("lab", "notebook"), default="lab",
                        help="JupyterLab 4 (default) or Jupyter Notebook 7")
    parser.add_argument("--verbose", action="store_true",
                        help="print each measurement's timeline of changes in the page")
    args = parser.parse_args(argv)
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    groups = [g.strip() for g in args.only.split(",") if g.strip()] or list(GROUPS)
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown --only keys {unknown}; choose from {', '.join(GROUPS)}")
    args.groups = [g for g in GROUPS if g in groups]   # table order
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    print(uptime_line(), flush=True)
    load_start = load_now()
    print(versions_line(args.app), flush=True)
    missing = chromium_missing_message()
    if missing:
        print(missing)
        return 2
    print(f"{args.reps} repetitions per latency; groups: {', '.join(args.groups)}", flush=True)

    from playwright.sync_api import sync_playwright

    results = Results()
    server = context = None
    profile = tempfile.mkdtemp(prefix="tdaw-bench-chromium-")
    try:
        with sync_playwright() as playwright:
            server = start_server(args.app)
            try:
                context = launch_chromium(playwright, profile)
                page = context.pages[0] if context.pages else context.new_page()
                page.set_viewport_size(VIEWPORT)
                page.add_init_script(PAGE_JS)
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                bench = Bench(page, server, results, args.reps, args.app, args.verbose)
                interactive = [g for g in args.groups if g not in ("tour", "big")]
                if interactive:
                    try:
                        interactive_rows(bench, interactive)
                    except Exception as exc:
                        for g in interactive:
                            results.errors.setdefault(g, f"setup failed: {type(exc).__name__}: {str(exc)[:300]}")
                        traceback.print_exc(limit=4, file=sys.stdout)
                        print("server log tail:\n" + server.log_tail(1500))
                if "big" in args.groups:
                    try:
                        big_rows(bench)
                    except Exception as exc:
                        results.errors.setdefault("big", f"{type(exc).__name__}: {str(exc)[:300]}")
                        traceback.print_exc(limit=4, file=sys.stdout)
                if "tour" in args.groups:
                    tour_rows(bench)
                if errors:
                    print(f"page errors ({len(errors)}): " + " | ".join(e[:200] for e in errors[:5]))
            finally:
                if context is not None:
                    context.close()
                server.stop()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    print(report(results, args.groups, load_start))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
