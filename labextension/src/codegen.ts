/**
 * The Python code the panel previews and inserts: the same text in both places.
 */

export interface ICodeChoice {
  /** The explorer's class (from the kernel's description). */
  explorerClass: string;
  model: string;
  images: string;
  labels: string | null;
  /** A preset name, or explicit layer names. */
  layers: string | string[];
  nImages: number | null;
  /** Settings that differ from their declared defaults (name: value). */
  settings: { [name: string]: string | number };
}

function py(value: string): string {
  return JSON.stringify(value);
}

export function makeCode(choice: ICodeChoice): string {
  const cls = choice.explorerClass;
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
  for (const [name, value] of Object.entries(choice.settings)) {
    args.push(
      `${name}=${typeof value === 'string' ? py(value) : Math.floor(value)}`
    );
  }
  return `from tda_widgets import ${cls}\n\n${cls}(${args.join(', ')})`;
}
