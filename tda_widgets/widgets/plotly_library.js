// Front end of tda_widgets.widgets.plotly_library: plotly.js compiled once per page.
//
// plotly's FigureWidget is an anywidget whose ES module is the whole 5 MB plotly.js bundle, and
// anywidget compiles each widget's module on its own (a fresh blob: URL every time). Its lab
// extension gives a model 2 s to initialise ("[anywidget] Failed to initialize model.") and a
// model that misses it never applies another kernel update, so a notebook with ten figures on a
// busy machine showed blank figures. Here the bundle travels once, in one PlotlyLibrary model,
// and is compiled once; every tda-widgets figure's module is the ~1 kB stub below, which waits
// for that single compile (shared through a page-global slot keyed by the bundle's hash).

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

// The PlotlyLibrary model: start the one compile, do not wait for it (its own initialisation
// must stay well inside anywidget's 2 s).
export function libraryWidget() {
  return {
    initialize({ model }) {
      const s = slot(model.get("key"));
      if (s.started) return;
      s.started = true;
      const url = URL.createObjectURL(new Blob([model.get("source")], { type: "text/javascript" }));
      import(/* webpackIgnore: true */ url)
        .then(s.resolve, s.reject)
        .finally(() => URL.revokeObjectURL(url));
    },
  };
}

// A figure: wait for the shared compile, then behave exactly as plotly's own widget module.
export async function figureWidget(key) {
  const lib = await slot(key).promise;
  return lib.default();
}
