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
  error?: string;
  shape_error?: string;
}

const MODULE =
  '__import__("tda_widgets.extension.namespace", fromlist=["_"]).panel_json';

function pyString(value: string): string {
  // JSON string literals are valid Python string literals for the names we send.
  return JSON.stringify(value);
}

/**
 * Evaluate one panel request in the kernel of `session` without any output.
 */
export async function panelRequest<T>(
  session: ISessionContext,
  request: 'list' | 'describe',
  args: { [key: string]: string | null } = {}
): Promise<T> {
  const kernel = session.session?.kernel;
  if (!kernel) {
    throw new Error('No kernel');
  }
  const kwargs = Object.entries(args)
    .filter(([, v]) => v !== null && v !== '')
    .map(([k, v]) => `, ${k}=${pyString(v as string)}`)
    .join('');
  const expression = `${MODULE}(globals(), ${pyString(request)}${kwargs})`;
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
