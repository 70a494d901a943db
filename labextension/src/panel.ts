/**
 * The "TDA" side panel: the active notebook's models and images, a model's layer presets,
 * an explorer and its settings, the labels that fit the images, the package's memory estimate
 * (with a warning over the budget), a preview of the code and Insert (a code cell below the
 * active cell, run).
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { KernelMessage } from '@jupyterlab/services';
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { makeCode } from './codegen';
import {
  IEstimate,
  IImageEntry,
  IModelDescription,
  INamespaceListing,
  RequestValue,
  panelRequest
} from './kernel';

const CUSTOM = '(choose layers)';

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

interface IOption {
  value: string;
  label: string;
  /** The option's tooltip (default: its label, which the select may shorten). */
  title?: string;
}

function fillSelect(
  select: HTMLSelectElement,
  options: IOption[],
  keep: boolean
): void {
  const previous = select.value;
  select.replaceChildren();
  for (const { value, label, title } of options) {
    const option = el('option', undefined, label);
    option.value = value;
    option.title = title ?? label;
    select.appendChild(option);
  }
  if (keep && options.some(o => o.value === previous)) {
    select.value = previous;
  }
}

/**
 * A control's state for a person: disabled with the reason as its tooltip, or enabled with
 * its chosen option's full text as its tooltip (a select shortens long names).
 */
function explain(
  control: HTMLSelectElement | HTMLInputElement,
  why: string | null,
  tip = ''
): void {
  control.disabled = why !== null;
  if (why !== null) {
    control.title = why;
  } else if (control instanceof HTMLSelectElement) {
    const option = control.selectedOptions[0];
    control.title = [option ? option.title || option.text : '', tip]
      .filter(Boolean)
      .join('\n\n');
  } else {
    control.title = tip;
  }
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

/** A long expression shortened in its middle (the full text goes in a tooltip). */
function shorten(text: string, max = 32): string {
  if (text.length <= max) {
    return text;
  }
  const half = Math.floor((max - 1) / 2);
  return `${text.slice(0, half)}…${text.slice(text.length - half)}`;
}

function formatCount(n: number): string {
  if (n >= 1e6) {
    return `${(n / 1e6).toFixed(1)}M`;
  }
  if (n >= 1e3) {
    return `${(n / 1e3).toFixed(1)}k`;
  }
  return String(n);
}

export class TDAPanel extends Widget {
  constructor(tracker: INotebookTracker) {
    super();
    this._tracker = tracker;
    this.id = 'tda-widgets-panel';
    this.addClass('tda-panel');
    this.title.caption = "TDA: explore the kernel's models";
    this._build();
    tracker.currentChanged.connect(this._onNotebookChanged, this);
    this._onNotebookChanged();
  }

  /** The last listing received (tests and debugging). */
  get listing(): INamespaceListing | null {
    return this._listing;
  }

  /** The last memory estimate received (tests and debugging). */
  get estimate(): IEstimate | null {
    return this._estimate;
  }

  /** The code the preview shows, which Insert inserts. */
  get code(): string {
    return this._preview.textContent ?? '';
  }

  /** The last model description received (tests and debugging). */
  get description(): IModelDescription | null {
    return this._description;
  }

  /** Ask the kernel again for its models and images. */
  async refresh(): Promise<void> {
    const session = this._session;
    if (!session || !session.session?.kernel) {
      this._setStatus('No notebook with a running kernel.');
      this._listing = null;
      this._render();
      return;
    }
    try {
      const listing = await panelRequest<INamespaceListing>(session, 'list');
      if (session !== this._session) {
        return; // the user switched notebooks meanwhile
      }
      this._listing = listing;
      this._setStatus(
        listing.error
          ? listing.error
          : `${this._notebookName()}: ${listing.models.length} model(s), ${listing.images.length} image set(s)` +
              (listing.truncated ? ' (list truncated)' : '')
      );
    } catch (error) {
      this._listing = null;
      this._setStatus(String((error as Error).message ?? error));
    }
    this._render();
  }

  dispose(): void {
    this._disconnect();
    super.dispose();
  }

  private _notebookName(): string {
    return this._tracker.currentWidget?.title.label ?? '';
  }

  private _onNotebookChanged(): void {
    this._disconnect();
    const panel: NotebookPanel | null = this._tracker.currentWidget;
    this._session = panel ? panel.sessionContext : null;
    this._description = null;
    if (this._session) {
      this._session.iopubMessage.connect(this._onIOPub, this);
      this._session.kernelChanged.connect(this._onKernelChanged, this);
      this._session.statusChanged.connect(this._onStatusChanged, this);
      void this._session.ready.then(() => this.refresh());
    }
    void this.refresh();
  }

  private _disconnect(): void {
    if (this._session) {
      this._session.iopubMessage.disconnect(this._onIOPub, this);
      this._session.kernelChanged.disconnect(this._onKernelChanged, this);
      this._session.statusChanged.disconnect(this._onStatusChanged, this);
    }
  }

  private _onKernelChanged(): void {
    this._description = null;
    void this.refresh();
  }

  private _onStatusChanged(_: ISessionContext, status: string): void {
    if (status === 'restarting' || status === 'dead') {
      this._listing = null;
      this._description = null;
      this._render();
    }
    if (status === 'idle' && this._listing === null) {
      void this.refresh();
    }
  }

  /** After any execution on the kernel (its execute_input, then idle), list again. */
  private _onIOPub(_: ISessionContext, msg: KernelMessage.IMessage): void {
    const type = msg.header.msg_type;
    if (type === 'execute_input') {
      this._pending = true;
    } else if (
      type === 'status' &&
      this._pending &&
      (msg.content as any).execution_state === 'idle'
    ) {
      this._pending = false;
      void this.refresh();
    }
  }

  private _setStatus(text: string): void {
    this._status.textContent = text;
  }

  private _build(): void {
    const header = el('div', 'tda-panel-header');
    header.appendChild(el('h2', undefined, 'TDA'));
    const refresh = el('button', 'jp-Button tda-refresh', 'Refresh');
    refresh.onclick = () => void this.refresh();
    header.appendChild(refresh);
    this.node.appendChild(header);
    this._status = el('div', 'tda-status');
    this.node.appendChild(this._status);

    this.node.appendChild(el('h3', undefined, 'Models'));
    this._modelTable = el('table', 'tda-models');
    this.node.appendChild(this._modelTable);
    this.node.appendChild(el('h3', undefined, 'Images'));
    this._imageTable = el('table', 'tda-images');
    this.node.appendChild(this._imageTable);

    this.node.appendChild(el('h3', undefined, 'Explore'));
    const form = el('div', 'tda-form');
    const row = (label: string, control: HTMLElement) => {
      const line = el('label', 'tda-row');
      const name = el('span', undefined, label);
      line.appendChild(name);
      line.appendChild(control);
      form.appendChild(line);
      return name;
    };
    this._model = el('select', 'tda-model-select');
    this._images = el('select', 'tda-images-select');
    this._labels = el('select', 'tda-labels-select');
    this._explorer = el('select', 'tda-explorer-select');
    this._mode = el('select', 'tda-mode-select');
    this._maxPoints = el('input', 'tda-max-points');
    this._maxPoints.type = 'number';
    this._preset = el('select', 'tda-preset-select');
    this._nImages = el('input', 'tda-n-images');
    this._nImages.type = 'number';
    this._nImages.min = '1';
    this._nImages.placeholder = 'all';
    row('model', this._model);
    row('images', this._images);
    this._imagesHint = el('div', 'tda-hint tda-images-hint');
    form.appendChild(this._imagesHint);
    row('labels', this._labels);
    row('explorer', this._explorer);
    row('layers', this._preset);
    row('images used', this._nImages);
    this._modeLabel = row('point cloud', this._mode);
    this._maxPointsLabel = row('points', this._maxPoints);
    this.node.appendChild(form);
    this._presetInfo = el('div', 'tda-preset-info');
    this.node.appendChild(this._presetInfo);
    this._layerBoxes = el('div', 'tda-layers');
    this.node.appendChild(this._layerBoxes);

    this.node.appendChild(el('h3', undefined, 'Memory estimate'));
    this._estimateBox = el('div', 'tda-estimate');
    this.node.appendChild(this._estimateBox);

    this.node.appendChild(el('h3', undefined, 'Code'));
    this._preview = el('pre', 'tda-preview');
    this.node.appendChild(this._preview);
    this._insert = el(
      'button',
      'jp-Button jp-mod-accept tda-insert',
      'Insert and run'
    );
    this._insert.onclick = () => void this._insertCode();
    this.node.appendChild(this._insert);
    this._insertHint = el('div', 'tda-hint tda-insert-hint');
    this.node.appendChild(this._insertHint);

    const describe = () => void this._describe();
    this._model.onchange = () => {
      this._imagesChosen = false;
      describe();
    };
    this._images.onchange = () => {
      this._imagesChosen = true;
      this._labelsChosen = false;
      this._renderLabels();
      this._renderImagesHint();
      this._updateCode();
      describe();
    };
    this._labels.onchange = () => {
      this._labelsChosen = true;
      this._updateCode();
    };
    this._explorer.onchange = () => {
      explain(this._explorer, null);
      this._updateCode();
    };
    this._preset.onchange = () => {
      explain(this._preset, null);
      this._renderLayers();
    };
    this._nImages.oninput = () => this._updateCode();
    this._mode.onchange = () => {
      this._modeChosen = true;
      this._updateCode();
    };
    this._maxPoints.oninput = () => this._updateCode();
  }

  private _render(): void {
    const listing = this._listing;
    this._modelTable.replaceChildren();
    this._imageTable.replaceChildren();
    const models = listing?.models ?? [];
    const images = listing?.images ?? [];
    const head = (table: HTMLTableElement, names: string[]) => {
      const tr = el('tr');
      names.forEach(n => {
        const th = el('th', undefined, n);
        th.title = n;
        tr.appendChild(th);
      });
      table.appendChild(tr);
    };
    const none = (table: HTMLTableElement, text: string) => {
      const tr = el('tr');
      const td = el('td', 'tda-empty', text);
      td.colSpan = 3;
      tr.appendChild(td);
      table.appendChild(tr);
    };
    if (models.length) {
      head(this._modelTable, ['name', 'class', 'params']);
    } else if (listing) {
      none(
        this._modelTable,
        'None: no torch.nn.Module in the kernel, as a variable or one level inside one (demo.model, models["a"]).'
      );
    }
    for (const m of models) {
      const tr = el('tr');
      const where = `${m.device}, ${m.training ? 'train' : 'eval'} mode`;
      [m.name, m.class, formatCount(m.parameters)].forEach(v => {
        const td = el('td', undefined, v);
        td.title = `${v}\n${m.name}: ${m.class}, ${m.parameters} parameters, ${where}`;
        tr.appendChild(td);
      });
      this._modelTable.appendChild(tr);
    }
    if (images.length) {
      head(this._imageTable, ['name', 'kind', 'size']);
    } else if (listing) {
      none(
        this._imageTable,
        'None: no tensor or array of two or more dimensions, Dataset or DataLoader.'
      );
    }
    for (const i of images) {
      const tr = el('tr');
      const size = i.shape
        ? i.shape.join(' × ')
        : `${i.length ?? '?'}${i.batch_size ? ` (batch ${i.batch_size})` : ''}`;
      [i.name, i.kind, size].forEach(v => {
        const td = el('td', undefined, v);
        td.title = v;
        tr.appendChild(td);
      });
      this._imageTable.appendChild(tr);
    }
    const modelBefore = this._model.value;
    const imagesBefore = this._images.value;
    fillSelect(
      this._model,
      models.map(m => ({ value: m.name, label: `${m.name} (${m.class})` })),
      true
    );
    explain(
      this._model,
      models.length
        ? null
        : "No model: no torch.nn.Module in this notebook's kernel, neither a variable nor one level " +
            'inside one (demo.model, models["a"]). Define one, run the cell, and it is listed here.'
    );
    this._fillImages(true);
    if (this._images.value !== imagesBefore) {
      this._labelsChosen = false;
    }
    this._renderLabels();
    // Describe again when the choice changed, the chosen model was redefined, or the image
    // sets changed (their fit to the model is checked on description).
    const chosen = models.find(m => m.name === this._model.value);
    const sets = images.map(i => `${i.name}:${i.shape ?? i.count}`).join(',');
    const key = chosen
      ? `${chosen.name}:${chosen.class}:${chosen.parameters}|${sets}`
      : '';
    const redefined = key !== this._describedKey;
    this._describedKey = key;
    if (
      this._model.value &&
      (this._model.value !== modelBefore ||
        this._images.value !== imagesBefore ||
        this._description === null ||
        redefined)
    ) {
      void this._describe();
    } else if (!this._model.value) {
      void this._describe(); // no model (any more): nothing described, nothing to say
    } else {
      this._renderPresets();
    }
  }

  private _chosenImages(): IImageEntry | undefined {
    return this._listing?.images.find(i => i.name === this._images.value);
  }

  /** Whether the described model takes an image set: its fit and why (null: not known). */
  private _fit(name: string): { fits: boolean | null; why: string } {
    const described = this._description;
    if (
      !described ||
      described.error ||
      described.model !== this._model.value
    ) {
      return { fits: null, why: '' };
    }
    const entry = (described.images ?? []).find(i => i.name === name);
    return { fits: entry?.fits ?? null, why: entry?.why ?? '' };
  }

  /** The image sets, each marked whether the chosen model takes it (✓ / ✗ with the reason). */
  private _fillImages(keep: boolean): void {
    const images = this._listing?.images ?? [];
    fillSelect(
      this._images,
      images.map(i => {
        const { fits, why } = this._fit(i.name);
        const base = `${i.name} (${i.kind})`;
        const label =
          fits === true
            ? `✓ ${base}`
            : fits === false
              ? `✗ ${base} — does not fit`
              : base;
        return {
          value: i.name,
          label,
          title: fits === false || why ? `${base}: ${why}` : base
        };
      }),
      keep
    );
    this._renderImagesHint();
  }

  private _renderImagesHint(): void {
    const images = this._listing?.images ?? [];
    const name = this._images.value;
    const { fits, why } = this._fit(name);
    let hint = '';
    if (!images.length) {
      hint =
        'No images: no tensor or array of two or more dimensions, Dataset or DataLoader in the kernel.';
    } else if (fits === false) {
      const any = images.some(i => this._fit(i.name).fits === true);
      hint =
        `✗ ${shorten(name)} does not fit ${shorten(this._model.value)}: ${why}` +
        (any ? '' : ' No image set in the kernel fits it.');
    } else if (fits === null && why) {
      hint = why;
    }
    this._imagesHint.textContent = hint;
    this._imagesHint.title =
      fits === false
        ? `${name} does not fit ${this._model.value}: ${why}`
        : hint;
    explain(
      this._images,
      images.length
        ? null
        : 'No images: define a tensor or array (images first), a Dataset or a DataLoader, and run the cell.',
      fits === false ? why : ''
    );
  }

  /**
   * The labels that fit the chosen images (one per image); a Dataset's own labels come first
   * for datasets. Until the user picks, the first fitting array is chosen.
   */
  private _renderLabels(): void {
    const entry = this._chosenImages();
    const none = entry?.own_labels ? "(the dataset's own labels)" : '(none)';
    const candidates = entry?.labels ?? [];
    fillSelect(
      this._labels,
      [{ value: '', label: none }].concat(
        candidates.map(l => ({ value: l, label: l }))
      ),
      true
    );
    if (!this._labelsChosen) {
      this._labels.value =
        entry && !entry.own_labels && candidates.length ? candidates[0] : '';
    }
    explain(
      this._labels,
      candidates.length
        ? null
        : entry
          ? entry.own_labels
            ? `${entry.name} brings its own labels.`
            : `No labels: no one-dimensional integer array or tensor with one label per image of ${entry.name} ` +
              `(${entry.count ?? '?'}) in the kernel.`
          : 'Choose images first.'
    );
  }

  /** Ask the kernel for the chosen model's layers and presets (with the chosen images). */
  private async _describe(): Promise<void> {
    const session = this._session;
    const model = this._model.value;
    if (!session || !model) {
      this._description = null;
      this._presetInfo.textContent = '';
      this._fillImages(true);
      this._renderPresets();
      return;
    }
    this._presetInfo.textContent = `Reading the layers of ${model} and trying one image of each image set…`;
    try {
      this._description = await panelRequest<IModelDescription>(
        session,
        'describe',
        {
          model,
          images: this._images.value || null
        }
      );
    } catch (error) {
      this._description = null;
      this._presetInfo.textContent = String((error as Error).message ?? error);
    }
    if (session !== this._session || model !== this._model.value) {
      return; // another choice meanwhile: its own description follows
    }
    // The images: the user's choice if it fits, else the first set the model takes.
    const fallback = this._description?.default_images;
    this._fillImages(true);
    if (
      fallback &&
      this._fit(this._images.value).fits !== true &&
      !this._imagesChosen
    ) {
      this._images.value = fallback;
      this._labelsChosen = false;
      this._renderLabels();
    }
    this._renderImagesHint();
    this._renderPresets();
    // The model was busy (an explorer is running it): try the image sets again shortly.
    window.clearTimeout(this._retryTimer);
    const busy = (this._description?.images ?? []).some(i => i.fits === null);
    if (busy && this._retries < 20) {
      this._retries++;
      this._retryTimer = window.setTimeout(() => void this._describe(), 3000);
    } else if (!busy) {
      this._retries = 0;
    }
  }

  private _renderPresets(): void {
    const description = this._description;
    const options: { value: string; label: string }[] = [];
    if (description && !description.error) {
      for (const [name, entry] of Object.entries(description.presets)) {
        if (entry.layers) {
          options.push({
            value: name,
            label: `${name} (${entry.layers.length})`
          });
        }
      }
      options.push({ value: CUSTOM, label: CUSTOM });
    }
    fillSelect(this._preset, options, true);
    fillSelect(
      this._explorer,
      Object.keys(description?.explorers ?? {}).map(k => ({
        value: k,
        label: k
      })),
      true
    );
    const noModel =
      description && !description.error
        ? null
        : 'Choose a model first (none is listed, or it is gone).';
    explain(this._preset, noModel);
    explain(this._explorer, noModel);
    explain(
      this._mode,
      noModel,
      this._description?.settings?.['mode']?.help ?? ''
    );
    explain(
      this._maxPoints,
      noModel,
      this._description?.settings?.['max_points']?.help ?? ''
    );
    explain(
      this._nImages,
      noModel,
      'How many images the explorer uses (empty: all of them).'
    );
    const settings = description?.settings ?? {};
    const mode = settings['mode'];
    if (mode) {
      this._modeLabel.textContent = mode.label;
      this._modeLabel.title = mode.help;
      fillSelect(
        this._mode,
        (mode.choices ?? []).map(c => ({ value: c, label: c })),
        true
      );
      if (!this._modeChosen) {
        this._mode.value = String(mode.default);
      }
    }
    const points = settings['max_points'];
    if (points) {
      this._maxPointsLabel.textContent = points.label;
      this._maxPointsLabel.title = points.help;
      this._maxPoints.placeholder = String(points.default);
      this._maxPoints.min = String(points.minimum ?? 1);
    }
    if (description?.error) {
      this._presetInfo.textContent = description.error;
    }
    this._renderLayers();
  }

  private _renderLayers(): void {
    const description = this._description;
    this._layerBoxes.replaceChildren();
    const preset = this._preset.value;
    if (!description || description.error || !preset) {
      this._updateCode();
      return;
    }
    const chosen = new Set(description.presets[preset]?.layers ?? []);
    const locked =
      preset === CUSTOM
        ? null
        : `The preset "${preset}" chooses these layers. To tick layers yourself, choose "${CUSTOM}" under layers.`;
    this._presetInfo.textContent =
      preset === CUSTOM
        ? 'Tick the layers to explore.'
        : `${preset}: ${[...chosen].join(', ')} (to tick layers yourself, choose "${CUSTOM}")`;
    if (description.shape_error) {
      this._presetInfo.textContent += ` (output shapes unavailable: ${description.shape_error})`;
    }
    for (const layer of description.layers) {
      const line = el('label', 'tda-layer');
      const box = el('input');
      box.type = 'checkbox';
      box.value = layer.name;
      box.checked = chosen.has(layer.name);
      box.disabled = locked !== null;
      box.onchange = () => this._updateCode();
      line.appendChild(box);
      const shape =
        layer.output_shape === undefined
          ? ''
          : layer.output_shape === null
            ? ' — did not run'
            : ` — ${layer.output_shape.join('×')}`;
      const text = `${layer.name} (${layer.type})${shape}`;
      line.appendChild(el('span', 'tda-layer-name', text));
      line.title = locked === null ? text : `${text}\n\n${locked}`;
      line.classList.toggle('tda-mod-locked', locked !== null);
      this._layerBoxes.appendChild(line);
    }
    this._updateCode();
  }

  private _updateCode(): void {
    const model = this._model.value;
    const images = this._images.value;
    const preset = this._preset.value;
    let layers: string | string[] | null = null;
    if (preset === CUSTOM) {
      layers = Array.from(
        this._layerBoxes.querySelectorAll<HTMLInputElement>('input:checked')
      ).map(box => box.value);
      if (!layers.length) {
        layers = null;
      }
    } else if (preset) {
      layers = preset;
    }
    const explorerClass = this._description?.explorers?.[this._explorer.value];
    const fit = this._fit(images);
    const why = !model
      ? 'Insert needs a model: define a torch.nn.Module in the notebook and run its cell.'
      : !images
        ? 'Insert needs images: define a tensor, array, Dataset or DataLoader and run its cell.'
        : !this._description || this._description.error
          ? `Insert waits for the description of ${model}.`
          : fit.fits === false
            ? `Insert needs images that ${shorten(model)} takes; ${shorten(images)} does not fit: ${fit.why}`
            : layers === null
              ? preset === CUSTOM
                ? 'Insert needs at least one layer: tick one in the list above.'
                : 'Insert needs layers: choose a preset or "(choose layers)".'
              : !explorerClass
                ? 'Insert needs an explorer: choose one.'
                : null;
    this._insertHint.textContent = why ?? '';
    if (why !== null || layers === null || !explorerClass) {
      this._preview.textContent = '';
      this._insert.disabled = true;
      this._insert.title = why ?? '';
      this._requestEstimate(null);
      return;
    }
    this._insert.title =
      'Insert this code in a new cell below the active cell, and run it.';
    const n = parseInt(this._nImages.value, 10);
    const nImages = Number.isFinite(n) && n > 0 ? n : null;
    // Only the settings that differ from their declared defaults appear in the code.
    const settings: { [name: string]: string | number } = {};
    const declared = this._description?.settings ?? {};
    if (
      declared['mode'] &&
      this._mode.value &&
      this._mode.value !== declared['mode'].default
    ) {
      settings['mode'] = this._mode.value;
    }
    const points = parseInt(this._maxPoints.value, 10);
    if (
      declared['max_points'] &&
      Number.isFinite(points) &&
      points !== declared['max_points'].default
    ) {
      settings['max_points'] = points;
    }
    this._preview.textContent = makeCode({
      explorerClass,
      model,
      images,
      labels: this._labels.value || null,
      layers,
      nImages,
      settings
    });
    this._insert.disabled = false;
    this._requestEstimate({
      model,
      images,
      layers,
      explorer: this._explorer.value,
      n_images: nImages,
      ...settings
    });
  }

  /**
   * Ask the kernel for the package's memory estimate of the previewed code (one forward pass
   * on one image), shortly after the last change and only when the choice or the chosen
   * model or images changed since the last estimate.
   */
  private _requestEstimate(args: { [key: string]: RequestValue } | null): void {
    const images = this._chosenImages();
    const key =
      args === null
        ? ''
        : JSON.stringify([
            args,
            this._describedKey,
            images?.shape ?? images?.count ?? null
          ]);
    if (key === this._estimateKey) {
      return;
    }
    this._estimateKey = key;
    window.clearTimeout(this._estimateTimer);
    if (args === null) {
      this._estimate = null;
      this._renderEstimate();
      return;
    }
    this._estimateBox.classList.add('tda-estimate-pending');
    this._estimateTimer = window.setTimeout(async () => {
      const session = this._session;
      if (!session) {
        return;
      }
      let estimate: IEstimate;
      try {
        estimate = await panelRequest<IEstimate>(session, 'estimate', args);
      } catch (error) {
        estimate = { error: String((error as Error).message ?? error) };
      }
      if (key === this._estimateKey) {
        this._estimate = estimate;
        this._renderEstimate();
      }
    }, 250);
  }

  private _renderEstimate(): void {
    const estimate = this._estimate;
    const box = this._estimateBox;
    box.classList.remove('tda-estimate-pending');
    box.replaceChildren();
    if (!estimate) {
      return;
    }
    if (estimate.error) {
      box.appendChild(el('div', 'tda-estimate-error', estimate.error));
      return;
    }
    box.appendChild(el('div', 'tda-estimate-summary', estimate.summary ?? ''));
    const peak = estimate.peak_bytes ?? 0;
    const budget = estimate.budget_bytes ?? 1;
    const bar = el('div', 'tda-estimate-bar');
    const fill = el('div', 'tda-estimate-fill');
    fill.style.width = `${Math.min(100, (100 * peak) / budget).toFixed(1)}%`;
    bar.appendChild(fill);
    bar.title = `${formatBytes(peak)} of ${formatBytes(budget)}`;
    box.appendChild(bar);
    const table = el('table', 'tda-estimate-layers');
    const head = el('tr');
    ['layer', 'stored', 'cloud'].forEach(n => {
      const th = el('th', undefined, n);
      th.title = n;
      head.appendChild(th);
    });
    table.appendChild(head);
    for (const row of estimate.layers ?? []) {
      const tr = el('tr');
      [
        row.layer,
        formatBytes(row.captured_bytes),
        `${row.cloud_points} × ${row.cloud_dims}`
      ].forEach(v => {
        const td = el('td', undefined, v);
        td.title = v;
        tr.appendChild(td);
      });
      table.appendChild(tr);
    }
    box.appendChild(table);
    box.classList.toggle('tda-over-budget', !!estimate.over_budget);
    for (const warning of estimate.warnings ?? []) {
      box.appendChild(
        el('div', 'tda-estimate-warning', `⚠ Over the budget: ${warning}`)
      );
    }
  }

  /** Insert the previewed code in a new code cell below the active cell, and run it. */
  private async _insertCode(): Promise<void> {
    const panel = this._tracker.currentWidget;
    const code = this.code;
    if (!panel || !code) {
      return;
    }
    const notebook = panel.content;
    NotebookActions.insertBelow(notebook);
    NotebookActions.changeCellType(notebook, 'code');
    const cell = notebook.activeCell;
    if (!cell) {
      return;
    }
    cell.model.sharedModel.setSource(code);
    await NotebookActions.run(notebook, panel.sessionContext);
  }

  private _tracker: INotebookTracker;
  private _session: ISessionContext | null = null;
  private _listing: INamespaceListing | null = null;
  private _description: IModelDescription | null = null;
  private _pending = false;
  private _describedKey = '';
  private _labelsChosen = false;
  private _imagesChosen = false;
  private _retries = 0;
  private _retryTimer = 0;
  private _modeChosen = false;
  private _estimate: IEstimate | null = null;
  private _estimateKey = '';
  private _estimateTimer = 0;
  private _status!: HTMLDivElement;
  private _modelTable!: HTMLTableElement;
  private _imageTable!: HTMLTableElement;
  private _model!: HTMLSelectElement;
  private _images!: HTMLSelectElement;
  private _labels!: HTMLSelectElement;
  private _explorer!: HTMLSelectElement;
  private _preset!: HTMLSelectElement;
  private _nImages!: HTMLInputElement;
  private _mode!: HTMLSelectElement;
  private _maxPoints!: HTMLInputElement;
  private _modeLabel!: HTMLSpanElement;
  private _maxPointsLabel!: HTMLSpanElement;
  private _estimateBox!: HTMLDivElement;
  private _presetInfo!: HTMLDivElement;
  private _layerBoxes!: HTMLDivElement;
  private _preview!: HTMLPreElement;
  private _insert!: HTMLButtonElement;
  private _insertHint!: HTMLDivElement;
  private _imagesHint!: HTMLDivElement;
}
