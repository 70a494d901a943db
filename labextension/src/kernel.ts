/**
 * Talking to the notebook's kernel: silent user expressions, as jupyterlab-variableinspector
 * does with its query command, but without output or history. The Python side is
 * tda_widgets.extension.namespace.panel_json, which returns an object whose text/plain
 * representation is JSON.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { KernelMessage } from '@jupyterlab/services';

export interface IModelEntry {
  name: string;
  class: string;
  parameters: number;
  device: string;
  training: boolean;
}

export interface IImageEntry {
  name: string;
  kind: 'tensor' | 'array' | 'dataset' | 'dataloader';
  class: string;
  shape?: number[];
  length?: number | null;
  batch_size?: number | null;
  /** The number of images. */
  count?: number | null;
  /** The label arrays with one label per image. */
  labels?: string[];
  /** Datasets and DataLoaders bring their own labels. */
  own_labels?: boolean;
  /** Whether the chosen model takes one of these images (null: unknown, no model chosen). */
  fits?: boolean | null;
  /** Why they do not fit (or why it is unknown). */
  why?: string;
}

export interface ILabelEntry {
  name: string;
  kind: string;
  shape: number[];
}

export interface INamespaceListing {
  models: IModelEntry[];
  images: IImageEntry[];
  labels: ILabelEntry[];
  truncated: boolean;
  error?: string;
}

export interface IModelDescription {
  model: string;
  class?: string;
  layers: { name: string; type: string; output_shape?: number[] | null }[];
  presets: { [preset: string]: { layers?: string[]; error?: string } };
  /** The explorers (name: class), from tda_widgets.extension.magics.EXPLORERS. */
  explorers?: { [name: string]: string };
  /** The settings offered beside layers and images, as CloudSpec declares them. */
  settings?: { [name: string]: ISetting };
  error?: string;
  shape_error?: string;
  /** Every image set of the kernel, marked fits / why for this model. */
  images?: IImageEntry[];
  /** The first image set the model takes (null: none). */
  default_images?: string | null;
  /** The image set the output shapes come from. */
  shapes_from?: string | null;
}

export interface ISetting {
  default: string | number | null;
  choices: string[] | null;
  minimum: number | null;
  help: string;
  label: string;
}

export interface IEstimate {
  explorer?: string;
  n_images?: number;
  peak_bytes?: number;
  budget_bytes?: number;
  layers?: {
    layer: string;
    output_shape: number[];
    mode: string;
    captured_bytes: number;
    cloud_points: number;
    cloud_dims: number;
    persistence_bytes: number;
  }[];
  over_budget?: boolean;
  warnings?: string[];
  summary?: string;
  error?: string;
}

export type RequestValue = string | number | string[] | null;

const MODULE =
  '__import__("tda_widgets.extension.namespace", fromlist=["_"]).panel_json';

function pyValue(value: string | number | string[]): string {
  // JSON strings, numbers and lists of strings are valid Python literals.
  return JSON.stringify(value);
}

/**
 * Evaluate one panel request in the kernel of `session` without any output.
 */
export async function panelRequest<T>(
  session: ISessionContext,
  request: 'list' | 'describe' | 'estimate',
  args: { [key: string]: RequestValue } = {}
): Promise<T> {
  const kernel = session.session?.kernel;
  if (!kernel) {
    throw new Error('No kernel');
  }
  const kwargs = Object.entries(args)
    .filter(([, v]) => v !== null && v !== '')
    .map(([k, v]) => `, ${k}=${pyValue(v as string | number | string[])}`)
    .join('');
  const expression = `${MODULE}(globals(), ${pyValue(request)}${kwargs})`;
  const future = kernel.requestExecute(
    {
      code: '',
      silent: true,
      store_history: false,
      user_expressions: { tda: expression },
      allow_stdin: false,
      stop_on_error: false
    },
    true
  );
  const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
  const content = reply.content as any;
  if (content.status !== 'ok') {
    throw new Error(`Kernel error: ${content.ename ?? content.status}`);
  }
  const result = content.user_expressions?.tda;
  if (!result || result.status !== 'ok') {
    const message = result?.evalue ?? 'no answer';
    throw new Error(
      `tda_widgets is not importable in this kernel (${result?.ename ?? ''}: ${message})`
    );
  }
  return JSON.parse(result.data['text/plain']) as T;
}
