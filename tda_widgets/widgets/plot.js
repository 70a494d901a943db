// Front end of tda_widgets.widgets.plot: the explorers' plots, drawn with plotly.js's public API.
//
// Two models share this module (the "role" trait): the one PlotLibrary of a kernel, which hands
// plotly.js (the documented distribution, as an ES module) to the page, compiled once; and every
// Plot, whose "state" trait is the figure (plotly's JSON, numeric arrays as binary buffers). A
// plot draws with Plotly.react / Plotly.restyle and sends plotly.js's documented events
// (plotly_hover, plotly_click, plotly_selected, plotly_relayout) back to the kernel as messages.
// No property of plotly's objects whose name begins with an underscore is read or written.

// ---------------------------------------------------------------------------- plotly.js, once
function slot(key) {
  const name = Symbol.for("tda-widgets/plotly.js/" + key);
  let s = globalThis[name];
  if (!s) {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    s = globalThis[name] = { promise, resolve, reject, started: false };
  }
  return s;
}

// The compile blocks the page for a second or more, and a widget model that is half-way through
// its own initialisation then misses anywidget's 2 s ("[anywidget] Failed to initialize model.";
// such a model never applies another kernel update). So the compile starts only once the burst
// of new models is over: QUIET_MS after the last tda-widgets model began initialising (plots and
// thumbnail panels call busy()), and at the latest MAX_WAIT_MS after the library arrived.
const QUIET_MS = 1000;
const MAX_WAIT_MS = 5000;
const BUSY = Symbol.for("tda-widgets/busy");

// After the quiet time the load waits for an idle moment of the page too: widget messages still
// queued, or models half-way through their creation, keep the page from being idle.
function schedule(s) {
  if (s.started || !s.source) return;
  const now = Date.now();
  s.firstAsked ??= now;
  clearTimeout(s.timer);
  const token = (s.token = {});
  const late = now - s.firstAsked >= MAX_WAIT_MS;
  const wait = late ? 0 : Math.min(QUIET_MS, s.firstAsked + MAX_WAIT_MS - now);
  s.timer = setTimeout(() => {
    const idle = globalThis.requestIdleCallback;
    if (typeof idle !== "function") { compile(s); return; }
    idle(() => { if (s.token === token || late) compile(s); }, { timeout: late ? 500 : QUIET_MS });
  }, wait);
}

// plotly.js goes in as a classic async script (its text hands plotly.js to this slot): the browser
// parses and compiles such a script off the main thread while it streams in, so the page blocks
// only for running its top level (a dynamic import() of the same text compiled it on the main
// thread: a 1.4 s task after Run All of the tour, measured by benchmarks/bench_browser.py).
function compile(s) {
  if (s.started) return;
  s.started = true;
  const url = URL.createObjectURL(new Blob([s.source], { type: "text/javascript" }));
  s.source = null;
  const script = document.createElement("script");
  script.async = true;
  script.src = url;
  script.dataset.tdaWidgets = "plotly.js";
  const done = () => { URL.revokeObjectURL(url); script.remove(); };
  script.onload = done;
  script.onerror = () => {
    done();
    const error = new Error("plotly.js did not load");
    console.warn("tda-widgets:", error);
    s.reject(error);
  };
  document.head.appendChild(script);
}

// any tda-widgets model that begins initialising pushes the compile back (see above)
function busy() {
  for (const name of Object.getOwnPropertySymbols(globalThis)) {
    const s = globalThis[name];
    if (name.description?.startsWith("tda-widgets/plotly.js/") && s && !s.started) schedule(s);
  }
}
globalThis[BUSY] = busy;
// anywidget evaluates this module for each model it loads, before that model's initialize: a
// model on its way pushes the compile back as early as it can
busy();

// ---------------------------------------------------------------------------- page-wide behaviour
// Keys: in Notebook 7 an arrow key on a focused slider moved the focus to a notebook cell (the
// notebook's command-mode shortcuts took it). Lumino matches no shortcut for a key whose target
// carries data-lm-suppress-shortcuts, so every control inside an explorer gets it on focus.
//
// Theme: figures are drawn on white by the kernel (exported HTML and screenshots read anywhere);
// under a dark JupyterLab / Notebook 7 theme this style sheet draws their background, text, grid,
// legend and the mapper's rings with the theme's colours, live on a theme switch.
const CONTROLS = ".noUi-handle, select, input, textarea, button, [tabindex]";
const THEME_CSS = `
.tdaw-plot { position: relative; }
.tdaw-plot > .tdaw-gd { position: relative; }
.tdaw-plot > .tdaw-gd.tdaw-hidden { position: absolute; left: 0; top: 0; visibility: hidden; pointer-events: none; }
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot .main-svg { background: transparent !important; }
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot .bg { fill: var(--jp-layout-color0) !important; }
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot :is(.gtitle, [class*="tick"], .g-xtitle, .g-ytitle, .legendtext, .annotation-text, .cbtitle, .cbaxis) text,
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot :is(.gtitle, .legendtext, .annotation-text, .g-xtitle, .g-ytitle) { fill: var(--jp-ui-font-color1) !important; }
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot :is(.gridlayer, .zerolinelayer) path { stroke: var(--jp-border-color2) !important; }
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot .legend .bg { fill: transparent !important; }
body[data-jp-theme-light="false"] .tda-mapper-graph .scatterlayer .trace:last-child path.point { stroke: var(--jp-ui-font-color0) !important; }
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot .modebar-btn path { fill: var(--jp-ui-font-color2) !important; }
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot .modebar-group { background-color: transparent !important; }
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot .scatterlayer .textpoint text { fill: var(--jp-ui-font-color1) !important; }
`;

function pageHooks() {
  const flag = Symbol.for("tda-widgets/page-hooks");
  if (globalThis[flag] || typeof document === "undefined") return;
  globalThis[flag] = true;
  document.addEventListener("focusin", (event) => {
    const target = event.target;
    if (target instanceof Element && target.closest(".tda-explorer") && target.matches(CONTROLS)) {
      target.setAttribute("data-lm-suppress-shortcuts", "true");
    }
  }, true);
  const style = document.createElement("style");
  style.id = "tda-widgets-theme";
  style.textContent = THEME_CSS;
  document.head.appendChild(style);
}

// ---------------------------------------------------------------------------- the figure's state
const TYPED = { i1: Int8Array, u1: Uint8Array, i2: Int16Array, u2: Uint16Array, i4: Int32Array,
  u4: Uint32Array, f4: Float32Array, f8: Float64Array };

function isBinary(value) {
  return value !== null && typeof value === "object" && TYPED[value.dtype] !== undefined &&
    (value.buffer instanceof DataView || value.buffer instanceof ArrayBuffer || ArrayBuffer.isView(value.buffer));
}

// {dtype, shape, buffer} (the kernel's binary arrays) -> a typed array, or rows of one
function decode(value) {
  if (Array.isArray(value)) return value.map(decode);
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return value;
  if (isBinary(value)) {
    const b = value.buffer;
    const bytes = b instanceof ArrayBuffer ? b.slice(0) : b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    const flat = new TYPED[value.dtype](bytes);
    const shape = value.shape || [flat.length];
    if (shape.length !== 2) return flat;
    const [rows, cols] = shape;
    return Array.from({ length: rows }, (_, r) => flat.subarray(r * cols, (r + 1) * cols));
  }
  const out = {};
  for (const [key, item] of Object.entries(value)) out[key] = decode(item);
  return out;
}

// a copy of the objects plotly.js may write to (it fills in defaults and ranges); arrays of
// numbers are shared, never written
function copy(value) {
  if (ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map(copy);
  if (value === null || typeof value !== "object") return value;
  const out = {};
  for (const [key, item] of Object.entries(value)) out[key] = copy(item);
  return out;
}

function report(what) {
  return (error) => console.warn(`tda-widgets: ${what} failed`, error);
}

// ---------------------------------------------------------------------------- linked graphs
// The MapperExplorer's main graph and its strip of every layer's graph: a figure whose
// layout.meta holds "tdaw_link" ({group, offsets, images[, titles]}: each node's images, in the
// nodes trace's order, and the thumbnail panel's title for it) answers a hover or click on a node
// in the page, before the kernel does: rings in every graph of its group (the nodes holding any
// of those images) and the group's thumbnail panel (the group is that panel's model id). The
// kernel's answer follows with the same state (tda_widgets/widgets/mapper.py, _link).
const LINKED = (globalThis[Symbol.for("tda-widgets/linked")] ??= new Map());   // group -> Set of plots

function ints(value) {
  if (ArrayBuffer.isView(value) || Array.isArray(value)) return value;
  return null;
}

// the escaped titles of a link (tda_widgets.markup.escape) back to the plain text the kernel shows
function plainText(escaped) {
  return String(escaped).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
    .replace(/&#(\d+);/g, (_, code) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_, code) => String.fromCodePoint(parseInt(code, 16)))
    .replace(/&amp;/g, "&");                     // last: "&amp;lt;" stays "&lt;"
}

function linkOf(frame) {
  const link = frame?.layout?.meta?.tdaw_link;
  if (!link || typeof link.group !== "string") return null;
  const offsets = ints(link.offsets), images = ints(link.images);
  return offsets && images ? { group: link.group, offsets, images, titles: link.titles || null } : null;
}

// ---------------------------------------------------------------------------- a plot's model
const FRAMES_KEPT = 64;   // states kept per model (the kernel's Plot.FRAMES_KEPT)
const VIEW_PLOTS = 8;     // drawn plots kept per view, swapped back in when their state returns
const CONFIG = { displaylogo: false, responsive: false };

const CONTROLLERS = new WeakMap();

function controller(model) {
  let ctl = CONTROLLERS.get(model);
  if (ctl) return ctl;
  ctl = {
    model,
    frames: new Map(),      // state id -> {id, data, layout, restyle}, most recent last
    templates: new Map(),   // template id -> template
    current: null,          // the frame the views show (the kernel's, or one a bound control brought back)
    views: new Set(),
    group: null,
    bound: new Map(),       // control model id -> {control, trait, handler}
  };
  CONTROLLERS.set(model, ctl);

  ctl.member = { ring: (chosen) => ring(ctl, chosen) };

  const onState = () => {
    const state = model.get("state");
    if (!state || typeof state.id !== "string") return;
    const template = model.get("template");
    if (template && typeof template.id === "string" && !ctl.templates.has(template.id)) {
      ctl.templates.set(template.id, decode(template.value || {}));
    }
    let frame = ctl.frames.get(state.id);
    if (!frame) {
      frame = { id: state.id, data: decode(state.data || []), layout: decode(state.layout || {}),
        template_id: state.template_id, restyle: state.restyle ? decode(state.restyle) : null };
    } else if (state.restyle) {
      // a state reached again (its id names the state, not the way to it): the newest way to it,
      // one restyle from the state shown now
      frame.restyle = decode(state.restyle);
    }
    remember(ctl, frame);
    showFrame(ctl, frame);
  };
  model.on("change:state", onState);
  model.on("change:bindings", () => bind(ctl));
  model.on("msg:custom", (msg) => {
    if (msg && msg.forget) {
      ctl.frames.clear();
      for (const view of ctl.views) {
        view.chain = view.chain.then(() => {
          for (const [id, gd] of view.plots) if (gd !== view.gd) drop(view, gd);
          view.plots = new Map(view.gd && view.shownId ? [[view.shownId, view.gd]] : []);
        }).catch(report("forget"));
      }
    }
  });
  onState();
  bind(ctl);
  return ctl;
}

function remember(ctl, frame) {
  ctl.frames.delete(frame.id);
  ctl.frames.set(frame.id, frame);
  while (ctl.frames.size > FRAMES_KEPT) ctl.frames.delete(ctl.frames.keys().next().value);
}

function showFrame(ctl, frame) {
  ctl.current = frame;
  join(ctl, frame);
  for (const view of ctl.views) redraw(view);
}

function join(ctl, frame) {
  const link = linkOf(frame);
  const next = link && ctl.views.size ? link.group : null;
  if (next === ctl.group) return;
  if (ctl.group !== null) LINKED.get(ctl.group)?.delete(ctl.member);
  ctl.group = next;
  if (next !== null) {
    if (!LINKED.has(next)) LINKED.set(next, new Set());
    LINKED.get(next).add(ctl.member);
  }
}

// A bound control (Plot.bind in the kernel): moving it to a value whose state the page holds shows
// that state at once; the kernel's own answer follows and, for the same state, changes nothing.
function bind(ctl) {
  const bindings = ctl.model.get("bindings") || {};
  const manager = ctl.model.widget_manager;
  for (const [controlId, entry] of Object.entries(bindings)) {
    if (ctl.bound.has(controlId)) { ctl.bound.get(controlId).entry = entry; continue; }
    const record = { entry, control: null, handler: null };
    ctl.bound.set(controlId, record);
    if (!manager || typeof manager.get_model !== "function") continue;
    Promise.resolve(manager.get_model(controlId)).then((control) => {
      if (!control || typeof control.on !== "function") return;
      record.control = control;
      record.handler = () => {
        const id = record.entry.views?.[String(control.get(record.entry.trait))];
        const frame = id && ctl.frames.get(id);
        if (frame && (!ctl.current || ctl.current.id !== id) && templateOf(ctl, frame)) showFrame(ctl, frame);
      };
      control.on("change:" + record.entry.trait, record.handler);
    }).catch(report("binding"));
  }
}

function templateOf(ctl, frame) {
  return ctl.templates.get(frame.template_id);
}

// ---------------------------------------------------------------------------- views
function redraw(view) {
  // one drawing at a time per view; each draws the newest frame (quick moves skip the ones between)
  view.chain = view.chain.then(() => draw(view)).catch(report("drawing"));
}

// The plot shown is the view's one plotly element on the page; the others it keeps wait detached
// (a plot swapped back in is attached again as it was drawn).
function swapIn(view, gd) {
  if (gd.parentNode !== view.el) view.el.appendChild(gd);
  gd.classList.remove("tdaw-hidden");
  for (const child of Array.from(view.el.children)) {
    if (child !== gd && child.classList.contains("tdaw-gd")) child.remove();
  }
  view.gd = gd;
}

function drop(view, gd) {
  view.P?.purge(gd);
  gd.remove();
}

function newPlotDiv(view) {
  const gd = document.createElement("div");
  gd.className = "tdaw-gd tdaw-hidden";
  view.el.appendChild(gd);
  return gd;
}

function fitSize(view, frame) {
  const width = frame.layout?.width, height = frame.layout?.height;
  if (typeof width === "number") view.el.style.width = `${width}px`;
  if (typeof height === "number") view.el.style.height = `${height}px`;
}

function sameNumbers(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

async function draw(view) {
  const ctl = view.ctl, P = view.P, frame = ctl.current;
  if (!view.alive || !P || !frame || view.shownId === frame.id) return;
  const template = templateOf(ctl, frame);
  const restyle = frame.restyle;
  // a restyle of the state shown (the mapper's rings): one Plotly.restyle, unless the page drew
  // exactly these values itself (its own answer to a hover or click); a restyle to "keep" the
  // state before (the filtration's cursors, bound to a slider) is drawn as a plot of its own
  if (restyle && !restyle.keep && view.gd && (view.shownId === restyle.base || view.page?.base === restyle.base)) {
    const keys = Object.keys(restyle.props || {});
    const mine = view.page && view.page.base === restyle.base && view.page.trace === restyle.trace &&
      keys.length === 1 && keys[0] === "marker.opacity" && sameNumbers(view.page.values, restyle.props["marker.opacity"]);
    if (!mine && keys.length === 1 && keys[0] === "marker.opacity") {
      await setOpacity(view, frame, restyle.trace, Array.from(restyle.props["marker.opacity"]));
    } else if (!mine) {
      const props = {};
      for (const key of keys) props[key] = [restyle.props[key]];
      await P.restyle(view.gd, props, [restyle.trace]);
    }
    if (view.shownId) view.plots.delete(view.shownId);
    view.plots.set(frame.id, view.gd);
    view.shownId = frame.id;
    view.page = null;
    return;
  }
  view.page = null;
  const dirty = view.shownId === null ? view.gd : null;   // a plot the page changed (rings): in no slot
  const cached = view.plots.get(frame.id);
  if (cached) {
    view.plots.delete(frame.id);
    view.plots.set(frame.id, cached);     // most recently used last
    swapIn(view, cached);
    if (dirty && dirty !== cached) drop(view, dirty);
    fitSize(view, frame);
    view.shownId = frame.id;
    return;
  }
  let gd = null;
  if (view.plots.size >= VIEW_PLOTS) {   // the least recently used plot is drawn over
    for (const [id, old] of view.plots) {
      if (old !== view.gd) { view.plots.delete(id); gd = old; break; }
    }
  }
  if (gd === null && dirty) gd = dirty;   // a plot changed in the page: drawn over
  else if (dirty) drop(view, dirty);
  if (gd === null) gd = newPlotDiv(view);
  else if (gd !== view.gd) { gd.classList.add("tdaw-hidden"); view.el.appendChild(gd); }   // drawn attached
  for (const [id, old] of view.plots) if (old === gd) view.plots.delete(id);
  const layout = copy(frame.layout);
  if (template) layout.template = template;
  fitSize(view, frame);
  // a figure may go without the toolbar (layout.meta.tdaw_modebar false: the mapper's small graphs,
  // narrower than the toolbar itself)
  const config = frame.layout?.meta?.tdaw_modebar === false ? { ...CONFIG, displayModeBar: false } : CONFIG;
  await P.react(gd, copy(frame.data), layout, config);
  listen(view, gd);
  if (!view.alive) return;
  swapIn(view, gd);
  view.plots.set(frame.id, gd);
  view.shownId = frame.id;
}

// plotly.js's documented events, sent to the kernel (only those a kernel callback wants)
function eventPoints(data) {
  const points = [];
  for (const pt of data?.points || []) {
    const index = typeof pt.pointIndex === "number" ? pt.pointIndex
      : typeof pt.pointNumber === "number" ? pt.pointNumber : null;
    const plain = (v) => (typeof v === "number" || typeof v === "string" || typeof v === "boolean" ? v : null);
    points.push({ trace: pt.curveNumber, index, x: plain(pt.x), y: plain(pt.y) });
    if (points.length >= 10000) break;
  }
  return points;
}

function listen(view, gd) {
  if (view.listened.has(gd)) return;
  view.listened.add(gd);
  const model = view.ctl.model;
  const wants = (kind) => (model.get("events") || []).includes(kind);
  let lastHover = null;
  gd.on("plotly_hover", (data) => {
    onPoint(view, data);
    if (!wants("hover")) return;
    const points = eventPoints(data);
    const key = JSON.stringify(points);
    if (key === lastHover) return;
    lastHover = key;
    model.send({ event: "hover", points });
  });
  gd.on("plotly_unhover", () => { lastHover = null; });
  gd.on("plotly_click", (data) => {
    onPoint(view, data);
    if (wants("click")) model.send({ event: "click", points: eventPoints(data) });
  });
  gd.on("plotly_selected", (data) => {
    onSelect(view, data);
    if (wants("selected")) model.send({ event: "selected", points: eventPoints(data) });
  });
  gd.on("plotly_relayout", (data) => {
    if (!wants("relayout")) return;
    const relayout = {};
    for (const [key, value] of Object.entries(data || {})) {
      if (["number", "string", "boolean"].includes(typeof value)) relayout[key] = value;
      else if (Array.isArray(value) && value.every((v) => typeof v === "number" || typeof v === "string")) relayout[key] = value;
    }
    model.send({ event: "relayout", points: [], relayout });
  });
}

// a hover or click on a linked graph's node: rings in every graph of its group, its thumbnails
function onPoint(view, data) {
  const ctl = view.ctl;
  const point = data?.points?.[0];
  const frame = ctl.current;
  const link = linkOf(frame);
  if (!point || !link || frame.data[point.curveNumber]?.name !== "nodes") return;
  const k = point.pointNumber;
  if (!(k >= 0 && k + 1 < link.offsets.length)) return;
  const chosen = Array.from(link.images.slice(link.offsets[k], link.offsets[k + 1]), Number);
  const set = new Set(chosen);
  // the thumbnails first (the panel draws on the next frame), then the rings
  const title = link.titles && typeof link.titles[k] === "string" ? plainText(link.titles[k]) : null;
  const manager = ctl.model.widget_manager;
  if (typeof title === "string" && manager && typeof manager.get_model === "function") {
    Promise.resolve(manager.get_model(link.group)).then((panel) => {
      // the kernel's ThumbnailPanel.show sets the same three (not sent back: the kernel sets them)
      if (panel && typeof panel.set === "function") panel.set({ title, marks: [], selected: chosen });
    }).catch(report("linked thumbnails"));
  }
  for (const other of LINKED.get(link.group) || []) other.ring(set);
}

// a lasso or box on a map whose frame links its selection (layout.meta.tdaw_select: the image of
// each point of one trace, the map's thumbnail panel and its title, the groups to ring): the
// images in the panel and the rings in every graph of those groups, before the kernel answers
// with the same state (tda_widgets/widgets/layer_map.py, _select_link)
function onSelect(view, data) {
  const ctl = view.ctl;
  const select = ctl.current?.layout?.meta?.tdaw_select;
  const images = ints(select?.images);
  if (!select || typeof select.group !== "string" || !images) return;
  const chosen = new Set();
  for (const pt of data?.points || []) {
    if (pt.curveNumber !== select.trace) continue;
    const k = typeof pt.pointIndex === "number" ? pt.pointIndex : pt.pointNumber;
    if (k >= 0 && k < images.length) chosen.add(Number(images[k]));
  }
  const selected = Array.from(chosen).sort((a, b) => a - b);   // the kernel's LayerMap.select
  const manager = ctl.model.widget_manager;
  const words = Array.isArray(select.title) ? select.title.map(plainText) : null;
  if (selected.length && words && manager && typeof manager.get_model === "function") {
    Promise.resolve(manager.get_model(select.group)).then((panel) => {
      if (panel && typeof panel.set === "function") {
        panel.set({ title: `${words[0]}${selected.length}${words[1]}`, marks: [], selected });
      }
    }).catch(report("selected thumbnails"));
  }
  for (const group of select.rings || []) for (const other of LINKED.get(group) || []) other.ring(chosen);
}

// Per-point marker opacities of one trace (the mapper's rings), shown at once: the points' SVG
// opacity is set in the page and the plot's input data take the values; Plotly.restyle follows
// when the page is idle, so that plotly.js's own state agrees before any later redraw (Plotly.restyle
// of an array recalculates the whole plot: ~40 ms a graph, six graphs per click). Falls back to
// Plotly.restyle at once when the drawn points are not one per value.
const QUIET_RESTYLE_MS = 400;

function ringPoints(gd, frame, trace) {
  // the trace's group among the scatter traces drawn (one subplot: in data order)
  const scatter = frame.data.map((t, i) => [t, i]).filter(([t]) => !t.type || t.type === "scatter");
  const k = scatter.findIndex(([, i]) => i === trace);
  const groups = gd.querySelectorAll(".scatterlayer .trace");
  if (k < 0 || groups.length !== scatter.length) return null;
  return groups[k].querySelectorAll("path.point");
}

async function setOpacity(view, frame, trace, values) {
  const gd = view.gd, P = view.P;
  const points = ringPoints(gd, frame, trace);
  const input = gd.data?.[trace];
  if (!points || points.length !== values.length || !input?.marker) {
    await P.restyle(gd, { "marker.opacity": [values] }, [trace]);
    return;
  }
  points.forEach((point, i) => { point.style.opacity = String(values[i]); });
  input.marker.opacity = Array.from(values);
  const token = (view.restyleToken = {});
  setTimeout(() => {
    if (view.restyleToken !== token || view.gd !== gd || !view.alive) return;
    const idle = globalThis.requestIdleCallback || ((f) => setTimeout(f, 0));
    idle(() => {
      if (view.restyleToken === token && view.gd === gd && view.alive) {
        P.restyle(gd, { "marker.opacity": [Array.from(values)] }, [trace]).catch(report("rings"));
      }
    });
  }, QUIET_RESTYLE_MS);
}

// ring the nodes of the frame shown that hold any of `chosen` (a Set of image indices)
function ring(ctl, chosen) {
  const frame = ctl.current;
  const link = linkOf(frame);
  if (!link) return;
  const trace = frame.data.findIndex((t) => t && t.name === "highlight");
  if (trace < 0) return;
  const n = link.offsets.length - 1;
  const opacity = new Array(n).fill(0);
  for (let j = 0; j < n; j += 1) {
    for (let k = link.offsets[j]; k < link.offsets[j + 1]; k += 1) {
      if (chosen.has(link.images[k])) { opacity[j] = 1; break; }
    }
  }
  for (const view of ctl.views) {
    view.chain = view.chain.then(async () => {
      if (!view.alive || !view.P || !view.gd) return;
      const base = view.page ? view.page.base : view.shownId;
      if (base !== frame.id) return;
      const now = view.page ? view.page.values : frame.data[trace]?.marker?.opacity;
      if (sameNumbers(now, opacity)) return;
      await setOpacity(view, frame, trace, opacity);
      if (!view.page && view.shownId) view.plots.delete(view.shownId);
      view.page = { base, trace, values: opacity };
      view.shownId = null;
    }).catch(report("rings"));
  }
}

// ---------------------------------------------------------------------------- the module
function initialize({ model }) {
  pageHooks();
  if (model.get("role") === "library") {
    const s = slot(model.get("key"));
    if (!s.started && !s.source) s.source = model.get("source");
    schedule(s);
    return;
  }
  busy();
  controller(model);
}

function render({ model, el }) {
  if (model.get("role") === "library") return;
  const ctl = controller(model);
  el.classList.add("tdaw-plot", "tdaw-figure");
  const view = { ctl, el, P: null, gd: null, plots: new Map(), shownId: null, page: null, alive: true,
    chain: Promise.resolve(), listened: new WeakSet() };
  ctl.views.add(view);
  if (ctl.current) { fitSize(view, ctl.current); join(ctl, ctl.current); }
  slot(model.get("library")).promise.then((P) => {
    view.P = P;
    redraw(view);
  }).catch(report("plotly.js"));
  return () => {
    view.alive = false;
    ctl.views.delete(view);
    if (ctl.views.size === 0 && ctl.group !== null) { LINKED.get(ctl.group)?.delete(ctl.member); ctl.group = null; }
    for (const gd of view.plots.values()) drop(view, gd);
    if (view.gd) drop(view, view.gd);
    view.plots.clear();
  };
}

export default { initialize, render };
