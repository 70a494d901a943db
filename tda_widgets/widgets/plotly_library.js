// Front end of tda_widgets.widgets.plotly_library: plotly.js compiled once per page.
//
// plotly's FigureWidget is an anywidget whose ES module is the whole 5 MB plotly.js bundle, and
// anywidget compiles each widget's module on its own (a fresh blob: URL every time). Its lab
// extension gives a model 2 s to initialise ("[anywidget] Failed to initialize model.") and a
// model that misses it never applies another kernel update, so a notebook with ten figures on a
// busy machine showed blank figures. Here the bundle travels once, in one PlotlyLibrary model,
// and is compiled once; every tda-widgets figure's module is the small stub below, ready at
// once, which builds plotly's widget when that single compile lands (shared through a
// page-global slot keyed by the bundle's hash).

function slot(key) {
  const name = Symbol.for("tda-widgets/plotly/" + key);
  let s = globalThis[name];
  if (!s) {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    s = globalThis[name] = { promise, resolve, reject, started: false };
  }
  return s;
}

// The compile blocks the page for a second or more, and a widget model of anywidget that is
// half-way through its own initialisation then misses its 2 s (three of the explorers' models
// died so, on a quiet machine). So the compile starts only once the burst of new models is over:
// QUIET_MS after the last tda-widgets model began initialising (figures, the library, thumbnail
// panels call busy()), and at the latest MAX_WAIT_MS after it was first asked for.
const QUIET_MS = 1000;
const MAX_WAIT_MS = 5000;
const BUSY = Symbol.for("tda-widgets/busy");

function schedule(s) {
  if (s.started || !s.source) return;
  const now = Date.now();
  s.firstAsked ??= now;
  clearTimeout(s.timer);
  const wait = Math.max(0, Math.min(QUIET_MS, s.firstAsked + MAX_WAIT_MS - now));
  s.timer = setTimeout(() => start(s), wait);
}

function start(s) {
  if (s.started) return;
  s.started = true;
  const url = URL.createObjectURL(new Blob([s.source], { type: "text/javascript" }));
  s.source = null;
  import(/* webpackIgnore: true */ url)
    .then(s.resolve, s.reject)
    .finally(() => URL.revokeObjectURL(url));
}

// Any tda-widgets model that begins initialising pushes the compile back (see above).
function busy() {
  for (const name of Object.getOwnPropertySymbols(globalThis)) {
    const s = globalThis[name];
    if (name.description?.startsWith("tda-widgets/plotly/") && s && !s.started) schedule(s);
  }
}
globalThis[BUSY] = busy;

// The PlotlyLibrary model: hand the source over and return at once.
export function libraryWidget() {
  return {
    initialize({ model }) {
      const s = slot(model.get("key"));
      if (s.started || s.source) return;
      s.source = model.get("source");
      schedule(s);
    },
  };
}

// A figure. Its initialisation must not wait for the compile: anywidget gives a model 2 s, and
// on a loaded page even one compile of plotly.js can take longer, for every figure created with
// it. So the figure is ready at once; plotly's own widget is built when the compile lands. The
// kernel's edits that arrive before then (plotly's _py2js_* messages, each sent as the message
// and then null) are queued and replayed to plotly's model in order, each seen with its value,
// unless a whole new figure state arrived after them.
const EDITS = ["_py2js_addTraces", "_py2js_deleteTraces", "_py2js_moveTraces", "_py2js_restyle",
  "_py2js_relayout", "_py2js_update", "_py2js_animate", "_py2js_removeLayoutProps",
  "_py2js_removeTraceProps"];

// Page-wide behaviour of the explorers, installed once per page by the first figure.
//
// Keys: in Notebook 7 an arrow key on a focused slider moved the focus to a notebook cell and
// the slider did not move (the notebook's command-mode shortcuts took it; JupyterLab 4.6 let it
// through). Lumino matches no shortcut for a key whose target (or an ancestor) carries
// data-lm-suppress-shortcuts, so every control inside an explorer gets it when it takes focus:
// arrows, Home/End and typing go to the control, in both front ends.
//
// Theme: figures are drawn on white by the kernel (so exported HTML and screenshots are
// readable anywhere); under a dark JupyterLab / Notebook 7 theme this style sheet draws their
// background, text, grid, legend and the mapper's rings (its last trace) with the theme's own colours, live on a theme switch, with
// no message to the kernel. Heat-map cells, markers and thumbnails keep their colours.
const CONTROLS = ".noUi-handle, select, input, textarea, button, [tabindex]";
const THEME_CSS = `
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot .main-svg { background: transparent !important; }
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot .bg { fill: var(--jp-layout-color0) !important; }
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot :is(.gtitle, [class*="tick"], .g-xtitle, .g-ytitle, .legendtext, .annotation-text, .cbtitle, .cbaxis) text,
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot :is(.gtitle, .legendtext, .annotation-text, .g-xtitle, .g-ytitle) { fill: var(--jp-ui-font-color1) !important; }
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot :is(.gridlayer, .zerolinelayer) path { stroke: var(--jp-border-color2) !important; }
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot .legend .bg { fill: transparent !important; }
body[data-jp-theme-light="false"] .tda-mapper-graph .scatterlayer .trace:last-child path.point { stroke: var(--jp-ui-font-color0) !important; }
body[data-jp-theme-light="false"] .tda-explorer .js-plotly-plot .modebar-btn path { fill: var(--jp-ui-font-color2) !important; }
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


// The fast path (tda_widgets.widgets._common.FigureWidget.send_frame): the kernel sends a view's
// whole figure once ("frame", JSON keyed by a hash of its content) and afterwards only its id
// ("show"); the view is drawn with one Plotly.react. "restyle" sets a few attributes of one
// trace with one Plotly.restyle. plotly's own model reads the shown figure through get(), so
// views rendered later, and plotly's own edits that follow, start from it.
const FRAMES_KEPT = 64;

// plotly.py writes numeric arrays as base64 typed arrays ({dtype, bdata[, shape]}); plotly.js
// draws those, but keeps them undecoded in gd.data, where plotly's own widget path (and code
// reading a figure's data) has typed arrays. Decoded once per frame, to the same.
const TYPED = { i1: Int8Array, u1: Uint8Array, i2: Int16Array, u2: Uint16Array, i4: Int32Array,
  u4: Uint32Array, f4: Float32Array, f8: Float64Array };

function decode(value) {
  if (Array.isArray(value)) return value.map(decode);
  if (value === null || typeof value !== "object") return value;
  if (typeof value.bdata === "string" && TYPED[value.dtype]) {
    const binary = atob(value.bdata);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    const flat = new TYPED[value.dtype](bytes.buffer);
    if (!value.shape) return flat;
    const dims = String(value.shape).split(",").map((d) => parseInt(d, 10)).filter((d) => !Number.isNaN(d));
    if (dims.length !== 2) return flat;
    return Array.from({ length: dims[0] }, (_, r) => flat.subarray(r * dims[1], (r + 1) * dims[1]));
  }
  const out = {};
  for (const [key, item] of Object.entries(value)) out[key] = decode(item);
  return out;
}

// a deep copy that keeps typed arrays typed
function copy(value) {
  if (ArrayBuffer.isView(value)) return value.slice();
  if (Array.isArray(value)) return value.map(copy);
  if (value === null || typeof value !== "object") return value;
  const out = {};
  for (const [key, item] of Object.entries(value)) out[key] = copy(item);
  return out;
}

// plotly's own model deserialises what it reads (its qu()): a typed array there must come as
// {dtype, buffer, shape}, and any other object is copied key by key, so a bare typed array would
// become a plain object {0: .., 1: ..} (a mapper graph drawn with no nodes, found by
// tests/browser/test_explorers.py). What it reads from the fast path is given as plain arrays.
function plain(value) {
  if (ArrayBuffer.isView(value)) return Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== "object") return value;
  const out = {};
  for (const [key, item] of Object.entries(value)) out[key] = plain(item);
  return out;
}

// Each view keeps the plots of the last VIEW_PLOTS frames it drew, attached one at a time to the
// view's own element: showing a frame seen before swaps its plot in (a few ms, no plotly.js
// redraw: Plotly.react of a persistence diagram took ~100 ms on a busy machine). Plots other than
// plotly's own pass their hover / click events on to it, so the kernel's callbacks still fire.
const VIEW_PLOTS = 8;
const FORWARDED = ["plotly_hover", "plotly_unhover", "plotly_click"];

// Linked graphs (the MapperExplorer's main graph and its strip of every layer's graph): a figure
// whose layout.meta holds "tdaw_link" ({group, offsets, images[, titles]}: each node's images, in
// the nodes trace's order, and the thumbnail panel's title for it) answers a hover or click on a
// node in the browser, before the kernel does: the rings of every graph of its group (the nodes
// holding any of those images) and the group's thumbnail panel (the group is that panel's model
// id). The kernel's answer follows with the same state (tda_widgets/widgets/mapper.py, _link).
const LINKED = (globalThis[Symbol.for("tda-widgets/linked")] ??= new Map());   // group -> Set of figures

// an integer array as it arrives: a typed array (a drawn plot's layout), a plain array, plotly.py's
// base64 {dtype, bdata} (a frame not decoded yet) or plotly's widget form {dtype, buffer}
function ints(value) {
  if (ArrayBuffer.isView(value) || Array.isArray(value)) return value;
  if (value && TYPED[value.dtype] && (value.buffer instanceof ArrayBuffer || ArrayBuffer.isView(value.buffer))) {
    const buffer = ArrayBuffer.isView(value.buffer) ? value.buffer.buffer.slice(value.buffer.byteOffset,
      value.buffer.byteOffset + value.buffer.byteLength) : value.buffer;
    return new TYPED[value.dtype](buffer);
  }
  const v = value && typeof value === "object" ? decode(value) : null;
  return ArrayBuffer.isView(v) || Array.isArray(v) ? v : null;
}

// the escaped titles of a link (tda_widgets.markup.escape) back to the plain text the kernel shows
function plainText(escaped) {
  return String(escaped).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
    .replace(/&#(\d+);/g, (_, code) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_, code) => String.fromCodePoint(parseInt(code, 16)))
    .replace(/&amp;/g, "&");                     // last: "&amp;lt;" stays "&lt;"
}

function linkOf(figure) {
  const link = figure?.layout?.meta?.tdaw_link;
  if (!link || typeof link.group !== "string") return null;
  const offsets = ints(link.offsets), images = ints(link.images);
  return offsets && images ? { group: link.group, offsets, images, titles: link.titles || null } : null;
}

function fastPath(model, queue, real) {
  const frames = new Map();
  const templates = new Map();
  const views = new Set();
  let shown = null;          // {id, data, layout} of the figure shown, or null: plotly's own state
  const state = { version: 0 };
  const clone = copy;
  const plotly = () => globalThis.Plotly;
  const config = () => Object.assign({}, plain(model.get("_config") || {}), { editSelection: false });
  const report = (what) => (error) => console.error("tda-widgets: " + what + " failed", error);

  function newPlot(view) {
    const gd = document.createElement("div");
    for (const name of FORWARDED) {
      // plotly's own view sends the kernel its callbacks; the points carry trace and point indices
      const forward = (data) => view.inner.emit?.(name, data);
      gd.__tdawForward = gd.__tdawForward || [];
      gd.__tdawForward.push([name, forward]);
    }
    return gd;
  }
  function listen(gd) {
    for (const [name, forward] of gd.__tdawForward || []) gd.on?.(name, forward);
    gd.__tdawForward = null;
  }
  function swapIn(view, gd) {
    if (view.displayed === gd) return;
    try { plotly()?.Fx?.unhover(view.displayed); } catch (error) { /* no hover label to remove */ }
    gd.style.visibility = "";
    gd.style.position = "";
    view.displayed.replaceWith(gd);
    view.displayed = gd;
  }
  function drop(view, gd) {
    if (gd === view.inner) { view.spare = gd; return; }   // plotly's own: kept for its listeners
    const P = plotly();
    if (P) P.purge(gd);
    gd.remove();
  }
  async function draw(view) {
    const P = plotly();
    if (!P || !shown || !view.ready) return;
    const id = shown.id;
    if (view.displayedId === id) return;
    const cached = view.plots.get(id);
    if (cached) {
      view.plots.delete(id);
      view.plots.set(id, cached);                  // most recently used last
      if (view.displayedId === null && view.displayed !== cached) {
        const dirty = view.displayed;
        swapIn(view, cached);
        drop(view, dirty);
      } else swapIn(view, cached);
      view.displayedId = id;
      return;
    }
    const figure = shown;
    let gd;
    if (view.displayedId === null) gd = view.displayed;        // changed by a restyle: redrawn in place
    else if (view.spare) { gd = view.spare; view.spare = null; }
    else gd = newPlot(view);
    if (gd !== view.displayed) {                               // drawn hidden beside the shown one, then swapped
      gd.style.visibility = "hidden";
      gd.style.position = "absolute";
      view.el.appendChild(gd);
    }
    await P.react(gd, clone(figure.data), clone(figure.layout), config());
    listen(gd);
    swapIn(view, gd);
    view.displayedId = figure.id;
    view.plots.set(figure.id, gd);
    while (view.plots.size > VIEW_PLOTS) {
      const [oldId, old] = view.plots.entries().next().value;
      view.plots.delete(oldId);
      if (old !== view.displayed) drop(view, old);
    }
  }
  function redraw(view) {
    // one drawing at a time per view; each draws the newest frame (quick moves skip the ones between)
    view.chain = view.chain.then(() => draw(view)).catch(report("redraw"));
  }
  function redrawAll() {
    state.version += 1;
    if (real() === null) { queue.length = 0; return; }   // plotly not built yet: it reads `shown` when it renders
    for (const view of views) redraw(view);
  }
  function show(id) {
    const frame = frames.get(id);
    frames.delete(id);
    frames.set(id, frame);      // most recently used last
    const layout = clone(frame.layout);
    const template = templates.get(frame.template_id);
    if (template) layout.template = clone(template);
    shown = { id, data: clone(frame.data), layout };
    join(shown);
    redrawAll();
  }
  function setPath(target, path, value) {
    const parts = path.split(".");
    let node = target;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {});
    node[parts[parts.length - 1]] = value;
  }
  // A restyle that only sets per-point marker opacities (the mapper's rings) of a trace drawn with
  // per-point opacities already: plotly.js would recalculate the whole plot for any array given to
  // an arrayOk attribute (its _restyle sets flags.calc), ~40 ms a mapper graph; a style change
  // needs none. The input and full data and each point's calcdata (`mo`, read by plotly's
  // singlePointStyle) take the new values, so any later redraw draws the same; the points' SVG
  // opacity is set in place. Returns false (use Plotly.restyle) when the plot is not in that state.
  function restyleOpacity(gd, props, trace) {
    const keys = Object.keys(props);
    if (keys.length !== 1 || keys[0] !== "marker.opacity") return false;
    const values = props["marker.opacity"][0];
    const input = gd.data?.[trace], full = gd._fullData?.[trace], cd = gd.calcdata?.[trace];
    const isArray = (v) => Array.isArray(v) || ArrayBuffer.isView(v);
    if (!isArray(values) || !input?.marker || !full?.marker || !Array.isArray(cd)) return false;
    if (!isArray(input.marker.opacity) || !isArray(full.marker.opacity)) return false;
    if (values.length !== cd.length || input.marker.opacity.length !== cd.length) return false;
    const next = Array.from(values);
    input.marker.opacity = next;
    full.marker.opacity = next;
    cd.forEach((point, k) => { point.mo = next[k]; });
    for (const group of gd.querySelectorAll(".scatterlayer g.trace")) {
      if (group.__data__?.[0]?.trace?.index !== trace) continue;
      for (const path of group.querySelectorAll("path.point")) {
        if (path.__data__ && path.__data__.mo !== undefined) path.style.opacity = String(path.__data__.mo);
      }
    }
    return true;
  }
  function restyle(props, trace) {
    // the stored figure takes it when it holds that trace (else the kernel's next copy of its whole
    // state brings it to views rendered later); so does each view's shown plot, which then no
    // longer is the plot of a frame as stored
    if (shown && shown.data[trace]) {
      for (const [path, values] of Object.entries(props)) setPath(shown.data[trace], path, clone(values[0]));
      shown = { ...shown, id: null };
    }
    state.version += 1;
    const P = plotly();
    if (real() === null || !P) { queue.length = 0; return; }
    for (const view of views) {
      view.chain = view.chain.then(() => {
        if (!view.ready) return;
        if (view.displayedId !== null) view.plots.delete(view.displayedId);
        view.displayedId = null;
        if (restyleOpacity(view.displayed, props, trace)) return;
        return P.restyle(view.displayed, clone(props), [trace]);
      }).catch(report("restyle"));
    }
  }
  // ---- linked graphs (see LINKED)
  const member = {
    // ring the nodes of the figure shown that hold any of `chosen` (a Set of image indices)
    ring(chosen) {
      const link = shown && linkOf(shown);
      if (!link) return;
      const trace = shown.data.findIndex((t) => t && t.name === "highlight");
      if (trace < 0) return;
      const n = link.offsets.length - 1;
      const opacity = new Array(n).fill(0);
      for (let j = 0; j < n; j += 1) {
        for (let k = link.offsets[j]; k < link.offsets[j + 1]; k += 1) {
          if (chosen.has(link.images[k])) { opacity[j] = 1; break; }
        }
      }
      const now = shown.data[trace]?.marker?.opacity;
      if (now && now.length === n && Array.prototype.every.call(now, (o, j) => o === opacity[j])) return;
      restyle({ "marker.opacity": [opacity] }, trace);
    },
  };
  let group = null;
  function join(figure) {
    const link = linkOf(figure);
    const next = link ? link.group : null;
    if (next === group) return;
    if (group !== null) LINKED.get(group)?.delete(member);
    group = next;
    if (group !== null) {
      if (!LINKED.has(group)) LINKED.set(group, new Set());
      LINKED.get(group).add(member);
    }
  }
  function onPoint(view, data) {
    const point = data?.points?.[0];
    const gd = view.displayed;
    const link = linkOf(gd && gd.layout ? gd : shown);
    if (!point || !link || (point.data?.name ?? point.fullData?.name) !== "nodes") return;
    const k = point.pointNumber;
    if (!(k >= 0 && k + 1 < link.offsets.length)) return;
    const chosen = Array.from(link.images.slice(link.offsets[k], link.offsets[k + 1]), Number);
    const set = new Set(chosen);
    for (const other of LINKED.get(link.group) || []) other.ring(set);
    const title = link.titles && typeof link.titles[k] === "string" ? plainText(link.titles[k]) : null;
    const manager = model.widget_manager;
    if (typeof title !== "string" || !manager || typeof manager.get_model !== "function") return;
    Promise.resolve(manager.get_model(link.group)).then((panel) => {
      // the kernel's ThumbnailPanel.show sets the same three (not sent back: the kernel sets them)
      if (panel && typeof panel.set === "function") panel.set({ title, marks: [], selected: chosen });
    }).catch(report("linked thumbnails"));
  }

  model.on("msg:custom", (msg) => {
    if (!msg || typeof msg.tdaw !== "string") return;
    if (msg.tdaw === "frame") {
      if (msg.template !== undefined) templates.set(msg.template_id, JSON.parse(msg.template));
      const figure = JSON.parse(msg.figure);
      frames.set(msg.id, { data: decode(figure.data), layout: decode(figure.layout), template_id: msg.template_id });
      while (frames.size > FRAMES_KEPT) frames.delete(frames.keys().next().value);
      show(msg.id);
    } else if (msg.tdaw === "show") {
      if (frames.has(msg.id) && templates.has(frames.get(msg.id).template_id)) show(msg.id);
      else model.send({ tdaw: "need", id: msg.id });
    } else if (msg.tdaw === "restyle") {
      restyle(decode(JSON.parse(msg.props)), msg.trace);
    } else if (msg.tdaw === "bind") {
      bind(msg.control, msg.trait, msg.views || {});
    } else if (msg.tdaw === "forget") {
      // every stored view goes; each view keeps only the plot it shows
      frames.clear();
      for (const entry of bindings.values()) entry.views = {};
      for (const view of views) {
        view.chain = view.chain.then(() => {
          for (const gd of view.plots.values()) if (gd !== view.displayed) drop(view, gd);
          view.plots = new Map();
          view.displayedId = null;
        }).catch(report("forget"));
      }
    }
  });

  // Bindings: for a control of the explorer (a slider, a dropdown), the stored frame each of its
  // values brings back with the other settings as they are. A change of the control (the user's,
  // or the kernel's) shows that frame at once; the kernel's own "show" follows and, for the same
  // frame, changes nothing.
  const bindings = new Map();
  function bind(controlId, trait, views) {
    let entry = bindings.get(controlId);
    if (!entry) {
      entry = { trait, views };
      bindings.set(controlId, entry);
      const manager = model.widget_manager;
      if (!manager || typeof manager.get_model !== "function") return;
      Promise.resolve(manager.get_model(controlId)).then((control) => {
        if (!control || typeof control.on !== "function") return;
        control.on("change:" + entry.trait, () => {
          const id = entry.views[String(control.get(entry.trait))];
          if (id && frames.has(id) && templates.has(frames.get(id).template_id) && (!shown || shown.id !== id)) {
            show(id);
          }
        });
      }).catch(report("binding"));
    }
    entry.trait = trait;
    entry.views = views;
  }
  // The kernel's copy of its whole figure (for views rendered later) holds what the frames and
  // restyles already drew, so it changes nothing here (dropping the frame then left a view whose
  // first render was still under way drawing the state before it: a blank mapper graph after Run
  // All in Notebook 7). An edit through plotly's own messages (code changing an explorer's figure
  // directly) reaches only plotly's own plot, which may not be the one shown: ask the kernel for
  // its whole figure as a frame.
  let asked = false;
  for (const name of EDITS.filter((edit) => !edit.startsWith("_py2js_remove"))) {
    model.on("change:" + name, () => {
      if (real() === null || model.get(name) === null || asked) return;
      asked = true;
      setTimeout(() => { asked = false; model.send({ tdaw: "need" }); }, 0);
    });
  }
  return {
    get version() { return state.version; },
    get(name, fallback) {
      if (shown && name === "_widget_data") return plain(shown.data);
      if (shown && name === "_widget_layout") return plain(shown.layout);
      return fallback();
    },
    // a view: `el` is the widget's element, `inner` the div plotly's own view draws in
    attach(el, inner, drawnVersion, drawnId) {
      const view = { el, inner, displayed: inner, displayedId: null, plots: new Map(), spare: null,
                     ready: false, chain: Promise.resolve() };
      views.add(view);
      join(shown);   // a view rendered again (its output shown anew) is linked again
      // plotly's first render is asynchronous; a frame that came meanwhile is drawn after it
      const done = (event) => {
        if (event.detail?.element !== inner) return;
        document.removeEventListener("plotlywidget-after-render", done);
        if (!views.has(view)) return;
        view.ready = true;
        for (const name of ["plotly_hover", "plotly_click"]) inner.on?.(name, (data) => onPoint(view, data));
        if (state.version === drawnVersion && drawnId) {
          view.displayedId = drawnId;                 // plotly drew exactly this frame
          view.plots.set(drawnId, inner);
        }
        redraw(view);
      };
      document.addEventListener("plotlywidget-after-render", done);
      return view;
    },
    detach(view) {
      views.delete(view);
      if (views.size === 0 && group !== null) { LINKED.get(group)?.delete(member); group = null; }
      const P = plotly();
      for (const gd of view.plots.values()) if (gd !== view.displayed && P) P.purge(gd);
    },
    get shownId() { return shown ? shown.id : null; },
  };
}

export function figureWidget(key) {
  let real = null;
  let built = null;
  let fast = null;
  return {
    initialize({ model, experimental }) {
      busy();
      pageHooks();
      const queue = [];
      fast = fastPath(model, queue, () => real);
      // A new _widget_data (tda-widgets resends the whole figure after each redraw) already
      // holds every edit queued before it: replaying those too doubled traces (a hover then
      // reached the wrong trace; found by the tour test's kernel-side diagnostic).
      model.on("change:_widget_data", () => {
        if (real === null) queue.length = 0;
      });
      for (const name of EDITS) {
        model.on("change:" + name, () => {
          const value = model.get(name);
          if (real === null && value !== null) queue.push([name, value]);
        });
      }
      built = slot(key).promise.then((lib) => {
        let replaying = null;
        const handlers = {};
        // plotly's model sees the widget model through this, so a replayed edit reads its value
        const view = {
          get: (name) => (replaying && replaying[0] === name ? replaying[1] : fast.get(name, () => model.get(name))),
          set: (name, value) => model.set(name, value),
          on: (event, callback) => {
            (handlers[event] ||= []).push(callback);
            model.on(event, callback);
          },
          off: (...args) => model.off(...args),
          save_changes: () => model.save_changes(),
          send: (...args) => model.send(...args),
          get widget_manager() { return model.widget_manager; },
        };
        const widget = lib.default();
        widget.initialize({ model: view, experimental });
        for (const item of queue) {
          replaying = item;
          for (const callback of handlers["change:" + item[0]] || []) callback();
        }
        replaying = null;
        real = widget;
        return widget;
      });
      built.catch((error) => console.error("tda-widgets: plotly.js did not load", error));
    },
    async render({ el }) {
      const widget = await built;
      // plotly's own view draws in a child, so that the fast path can swap plots in this element
      el.classList.add("tdaw-figure");
      const inner = document.createElement("div");
      el.appendChild(inner);
      const drawn = fast.version;
      const drawnId = fast.shownId;
      const remove = widget.render({ el: inner });
      const view = fast.attach(el, inner, drawn, drawnId);
      return () => {
        fast.detach(view);
        return typeof remove === "function" ? remove() : undefined;
      };
    },
  };
}
