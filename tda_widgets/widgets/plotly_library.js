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

function fastPath(model, queue, real) {
  const frames = new Map();
  const templates = new Map();
  const views = new Map();   // el -> drawn (false until plotly's first render of it ended)
  let shown = null;          // {data, layout} of the figure shown, or null: plotly's own state
  const state = { version: 0 };
  const clone = copy;
  const plotly = () => globalThis.Plotly;

  function draw(el) {
    const P = plotly();
    if (!P || !shown) return;
    P.react(el, clone(shown.data), clone(shown.layout)).catch?.((e) => console.error("tda-widgets: redraw failed", e));
  }
  function redrawAll() {
    state.version += 1;
    if (real() === null) { queue.length = 0; return; }   // plotly not built yet: it reads `shown` when it renders
    for (const [el, ready] of views) if (ready) draw(el);
  }
  function show(id) {
    const frame = frames.get(id);
    frames.delete(id);
    frames.set(id, frame);      // most recently used last
    const layout = clone(frame.layout);
    const template = templates.get(frame.template_id);
    if (template) layout.template = clone(template);
    shown = { data: clone(frame.data), layout };
    redrawAll();
  }
  function setPath(target, path, value) {
    const parts = path.split(".");
    let node = target;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {});
    node[parts[parts.length - 1]] = value;
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
      const props = decode(JSON.parse(msg.props));
      // the drawn views always take it; the stored figure too when it holds that trace (else the
      // kernel's next copy of its whole state brings it to views rendered later)
      if (shown && shown.data[msg.trace]) {
        for (const [path, values] of Object.entries(props)) setPath(shown.data[msg.trace], path, clone(values[0]));
      }
      state.version += 1;
      const P = plotly();
      if (real() === null || !P) { queue.length = 0; return; }
      for (const [el, ready] of views) {
        if (ready) P.restyle(el, clone(props), [msg.trace]).catch?.((e) => console.error("tda-widgets: restyle failed", e));
      }
    }
  });
  // a whole new figure state from the kernel (its copy for views rendered later) is the truth again
  model.on("change:_widget_data", () => { shown = null; });
  return {
    get version() { return state.version; },
    get(name, fallback) {
      if (shown && name === "_widget_data") return plain(shown.data);
      if (shown && name === "_widget_layout") return plain(shown.layout);
      return fallback();
    },
    attach(el, drawnVersion) {
      views.set(el, false);
      // plotly's first render is asynchronous; a frame that came meanwhile is drawn after it
      const done = (event) => {
        if (event.detail?.element !== el) return;
        document.removeEventListener("plotlywidget-after-render", done);
        if (!views.has(el)) return;
        views.set(el, true);
        if (state.version !== drawnVersion && shown) draw(el);
      };
      document.addEventListener("plotlywidget-after-render", done);
    },
    detach(el) { views.delete(el); },
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
      const drawn = fast.version;
      const remove = widget.render({ el });
      fast.attach(el, drawn);
      return () => {
        fast.detach(el);
        if (typeof remove === "function") remove();
      };
    },
  };
}
