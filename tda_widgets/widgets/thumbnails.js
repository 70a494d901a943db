// Front end of tda_widgets.widgets.thumbnails.ThumbnailPanel (an anywidget ES module, no build).
// The sprite sheet of all images arrives once; each change of `selected` redraws the chosen
// tiles from it with CSS background offsets, so a hover costs one small message.

function spriteUrl(model) {
  const data = model.get("sprite");
  if (!data || data.byteLength === 0) return null;
  const bytes = data instanceof DataView || data instanceof ArrayBuffer
    ? data : new Uint8Array(data);
  return URL.createObjectURL(new Blob([bytes], { type: "image/png" }));
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "tdaw-thumbs";
  const title = document.createElement("div");
  title.className = "tdaw-thumbs-title";
  // the summary of a selection (a mapper node's classes and mean image), made for one title
  const summary = document.createElement("div");
  summary.className = "tdaw-thumbs-summary";
  const meanImage = document.createElement("img");
  meanImage.className = "tdaw-thumbs-mean";
  meanImage.alt = "mean image";
  meanImage.title = "the mean of these images";
  const bars = document.createElement("div");
  bars.className = "tdaw-thumbs-bars";
  summary.append(meanImage, bars);
  const count = document.createElement("div");
  count.className = "tdaw-thumbs-count";
  const grid = document.createElement("div");
  grid.className = "tdaw-thumbs-grid";
  const more = document.createElement("div");
  more.className = "tdaw-thumbs-more";
  root.append(title, summary, count, grid, more);
  el.appendChild(root);

  let url = null;
  let meanUrl = null;
  let spriteSize = { width: 0, height: 0 };

  function loadSprite() {
    if (url) URL.revokeObjectURL(url);
    url = spriteUrl(model);
    root.dataset.spriteReady = "false";
    if (!url) return;
    const image = new Image();
    image.src = url;
    // Decode once; tiles drawn meanwhile show as soon as the browser has the image.
    image.decode().then(() => {
      spriteSize = { width: image.naturalWidth, height: image.naturalHeight };
      root.dataset.spriteReady = "true";
      draw();
    }).catch((err) => {
      root.dataset.spriteReady = "error";
      console.error("ThumbnailPanel: could not decode the sprite", err);
    });
  }

  function draw() {
    const selected = model.get("selected") || [];
    const captions = model.get("captions") || [];
    const tile = model.get("tile");
    const tileW = model.get("tile_width") || tile;
    const cols = Math.max(1, model.get("cols"));
    const scale = model.get("display_scale") || 1;
    const maxShown = Math.max(1, model.get("max_shown"));
    const shown = selected.slice(0, maxShown);
    const height = tile * scale, width = tileW * scale;
    const rows = Math.ceil(model.get("n_images") / cols);
    const sheetW = (spriteSize.width || cols * tileW) * scale;
    const sheetH = (spriteSize.height || rows * tile) * scale;

    title.textContent = model.get("title");
    title.style.display = model.get("title") ? "" : "none";
    count.textContent = selected.length === 0
      ? "no images selected"
      : `${selected.length} image${selected.length === 1 ? "" : "s"}, showing ${shown.length}`;

    drawSummary();
    const marks = model.get("marks") || [];
    const fragment = document.createDocumentFragment();
    for (const [k, index] of shown.entries()) {
      const cell = document.createElement("div");
      cell.className = "tdaw-thumb";
      cell.dataset.index = String(index);
      const picture = document.createElement("div");
      picture.className = "tdaw-thumb-img";
      picture.style.width = `${width}px`;
      picture.style.height = `${height}px`;
      if (url) {
        const col = index % cols, row = Math.floor(index / cols);
        picture.style.backgroundImage = `url(${url})`;
        picture.style.backgroundSize = `${sheetW}px ${sheetH}px`;
        picture.style.backgroundPosition = `${-col * width}px ${-row * height}px`;
      }
      // where in the image the point's vector sits: outlined rectangles (fractions of the image)
      const rects = marks[k] || [];
      for (let r = 0; r + 3 < rects.length; r += 4) {
        const mark = document.createElement("div");
        mark.className = "tdaw-thumb-mark";
        mark.style.top = `${rects[r] * 100}%`;
        mark.style.left = `${rects[r + 1] * 100}%`;
        mark.style.height = `${rects[r + 2] * 100}%`;
        mark.style.width = `${rects[r + 3] * 100}%`;
        picture.appendChild(mark);
      }
      const caption = captions[index] || `#${index}`;
      picture.title = `#${index} ${caption}`;
      const label = document.createElement("div");
      label.className = "tdaw-thumb-caption";
      label.style.width = `${Math.max(width, 56)}px`;
      label.textContent = caption.split(" · ").join("\n");  // "label 3\npred 3": one part a line
      cell.append(picture, label);
      fragment.appendChild(cell);
    }
    grid.replaceChildren(fragment);

    const hidden = selected.length - shown.length;
    more.textContent = hidden > 0 ? `+${hidden} more` : "";
    more.style.display = hidden > 0 ? "" : "none";
    root.dataset.nShown = String(shown.length);
    root.dataset.nSelected = String(selected.length);
    root.dataset.renderedAt = String(performance.now());
  }

  // class bars and mean image, only while they belong to the title shown (textContent: names are plain text)
  function drawSummary() {
    const current = model.get("title") !== "" && model.get("summary_title") === model.get("title");
    const list = current ? (model.get("bars") || []) : [];
    const data = current ? model.get("mean") : null;
    summary.style.display = list.length || (data && data.byteLength) ? "" : "none";
    if (meanUrl) { URL.revokeObjectURL(meanUrl); meanUrl = null; }
    if (data && data.byteLength) {
      const bytes = data instanceof DataView || data instanceof ArrayBuffer ? data : new Uint8Array(data);
      meanUrl = URL.createObjectURL(new Blob([bytes], { type: "image/png" }));
      meanImage.src = meanUrl;
      meanImage.style.display = "";
    } else {
      meanImage.removeAttribute("src");
      meanImage.style.display = "none";
    }
    const total = list.reduce((sum, b) => sum + (b.count || 0), 0) || 1;
    const rows = list.map((b) => {
      const row = document.createElement("div");
      row.className = "tdaw-bar-row";
      const name = document.createElement("span");
      name.className = "tdaw-bar-name";
      name.textContent = b.name;
      name.title = b.name;
      const bar = document.createElement("span");
      bar.className = "tdaw-bar";
      bar.style.width = `${Math.max(2, Math.round(80 * (b.count || 0) / total))}px`;
      const n = document.createElement("span");
      n.className = "tdaw-bar-count";
      n.textContent = `${b.count} (${Math.round(100 * (b.count || 0) / total)} %)`;
      row.append(name, bar, n);
      return row;
    });
    bars.replaceChildren(...rows);
  }

  // One message often changes several traits (show(): title, marks and selected together), each
  // firing its change event: draw once, after the last of them.
  let pending = false;
  const redraw = () => {
    if (pending) return;
    pending = true;
    queueMicrotask(() => { pending = false; draw(); });
  };
  const onSprite = () => { loadSprite(); redraw(); };
  const TRAITS = ["selected", "marks", "title", "bars", "mean", "summary_title", "captions", "max_shown", "display_scale", "tile", "tile_width", "cols"];
  model.on("change:sprite", onSprite);
  for (const name of TRAITS) model.on(`change:${name}`, redraw);
  loadSprite();
  draw();

  return () => {
    model.off("change:sprite", onSprite);
    for (const name of TRAITS) model.off(`change:${name}`, redraw);
    if (url) URL.revokeObjectURL(url);
    if (meanUrl) URL.revokeObjectURL(meanUrl);
  };
}

// A new panel pushes back the page's one compile of plotly.js (plot.js, busy()), which would
// otherwise block the page while this model initialises.
function initialize() {
  globalThis[Symbol.for("tda-widgets/busy")]?.();
}

export default { initialize, render };
