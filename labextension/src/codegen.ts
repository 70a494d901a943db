/**
 * The Python code the panel previews and inserts: the same text in both places.
 */

export const EXPLORERS: { [key: string]: string } = {
  mapper: 'MapperExplorer',
  persistence: 'PersistenceExplorer',
  distances: 'LayerDistanceExplorer',
  dashboard: 'Dashboard'
};

export interface ICodeChoice {
  explorer: string;
  model: string;
  images: string;
  labels: string | null;
  /** A preset name, or explicit layer names. */
  layers: string | string[];
  nImages: number | null;
}

function py(value: string): string {
  return JSON.stringify(value);
}

export function makeCode(choice: ICodeChoice): string {
  const cls = EXPLORERS[choice.explorer] ?? 'MapperExplorer';
  const args = [choice.model, choice.images];
  if (choice.labels) {
    args.push(choice.labels);
  }
  let layers: string;
  if (typeof choice.layers === 'string') {
    layers = py(choice.layers);
  } else {
    layers = '[' + choice.layers.map(py).join(', ') + ']';
  }
  args.push(`layers=${layers}`);
  if (choice.nImages !== null && choice.nImages > 0) {
    args.push(`n_images=${Math.floor(choice.nImages)}`);
  }
  return `from tda_widgets import ${cls}\n\n${cls}(${args.join(', ')})`;
}
