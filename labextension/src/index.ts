import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { PageConfig, PathExt, URLExt } from '@jupyterlab/coreutils';
import type { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import type { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';

// The panel is added to the shell when the plugin activates, so it is needed at once.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { TDAPanel } from './panel';

const PLUGIN_ID = 'tda-widgets:plugin';
const CATEGORY = 'tda-widgets';
const TOUR_NAME = '01_tour.ipynb';

export const CommandIDs = {
  openPanel: 'tda-widgets:open-panel',
  openTour: 'tda-widgets:open-tour',
  newNotebook: 'tda-widgets:new-notebook'
};

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">
<g class="jp-icon3" fill="#616161"><circle cx="3" cy="4" r="1.6"/><circle cx="13" cy="4" r="1.6"/>
<circle cx="8" cy="13" r="1.6"/><circle cx="8" cy="7" r="1.2"/></g>
<g class="jp-icon3" stroke="#616161" fill="none" stroke-width="1"><path d="M3 4 L13 4 L8 13 Z"/></g></svg>`;

export const tdaIcon = new LabIcon({
  name: 'tda-widgets:icon',
  svgstr: ICON_SVG
});

/** The starter notebook of "New tda-widgets notebook". */
function starterNotebook(): any {
  const source = (text: string) => text;
  return {
    cells: [
      {
        cell_type: 'markdown',
        metadata: {},
        source: source(
          '# tda-widgets\n\nDefine a model and images below (or keep the demo), then open the **TDA** panel in the ' +
            'side bar: pick the model, a layer preset, the images and an explorer, and press **Insert and run**.'
        )
      },
      {
        cell_type: 'code',
        execution_count: null,
        metadata: {},
        outputs: [],
        source: source(
          '%load_ext tda_widgets\nfrom tda_widgets import load_demo\n\ndemo = load_demo()\n' +
            'model, images, labels = demo.model, demo.images, demo.labels'
        )
      }
    ],
    metadata: {
      kernelspec: {
        display_name: 'Python 3 (ipykernel)',
        language: 'python',
        name: 'python3'
      },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  };
}

/** The tour notebook shipped in the prebuilt extension's static folder. */
async function fetchTour(): Promise<any> {
  const settings = ServerConnection.makeSettings();
  // fullLabextensionsUrl is a path ('/lab/extensions'); the server connection takes only URLs
  // under its base URL, so make it absolute.
  const url = new URL(
    URLExt.join(
      PageConfig.getOption('fullLabextensionsUrl'),
      'tda-widgets',
      'static',
      TOUR_NAME
    ),
    window.location.origin
  ).href;
  const response = await ServerConnection.makeRequest(url, {}, settings);
  if (!response.ok) {
    throw new Error(
      `The tour notebook is missing from the extension (${response.status} ${url})`
    );
  }
  return response.json();
}

/**
 * An optional service whose package the front end may not share (Voilà has no file browser
 * and no launcher): its token is imported on demand, and a front end without the package
 * gives null instead of failing the whole extension's load.
 */
async function optionalService<T>(
  app: JupyterFrontEnd,
  load: () => Promise<{ [name: string]: any }>,
  name: string
): Promise<T | null> {
  try {
    const module = await load();
    return (await app.resolveOptionalService(module[name])) as T | null;
  } catch {
    return null; // the package is not in this front end's shared scope
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    "A TDA side panel for the notebook kernel's models, and tda-widgets commands.",
  autoStart: true,
  // Every service is optional: a front end without notebooks, a palette, a launcher or a
  // file browser (Voilà) loads the extension without an error.
  optional: [INotebookTracker, ICommandPalette],
  activate: async (
    app: JupyterFrontEnd,
    tracker: INotebookTracker | null,
    palette: ICommandPalette | null
  ) => {
    if (!tracker) {
      return; // no notebooks to explore (a front end that only renders, such as Voilà)
    }
    const [launcher, browser] = await Promise.all([
      optionalService<ILauncher>(
        app,
        () => import('./optional/launcher'),
        'ILauncher'
      ),
      optionalService<IDefaultFileBrowser>(
        app,
        () => import('./optional/filebrowser'),
        'IDefaultFileBrowser'
      )
    ]);
    const { commands, serviceManager, shell } = app;
    const contents = serviceManager.contents;
    // The file browser's folder (JupyterLab), else the current notebook's (Notebook 7's
    // notebook page has no file browser), else the server's root.
    const cwd = () => {
      if (browser) {
        return browser.model.path;
      }
      const current = tracker.currentWidget;
      return current ? PathExt.dirname(current.context.path) : '';
    };

    const panel = new TDAPanel(tracker);
    panel.title.icon = tdaIcon;
    panel.title.label = '';
    panel.title.caption = 'TDA';
    shell.add(panel, 'right', { rank: 900 });

    commands.addCommand(CommandIDs.openPanel, {
      label: 'Show the TDA panel',
      describedBy: { args: { type: 'object', properties: {} } }, // no arguments
      icon: tdaIcon,
      execute: () => {
        shell.activateById(panel.id);
        void panel.refresh();
      }
    });

    commands.addCommand(CommandIDs.openTour, {
      label: 'Open the tda-widgets tour',
      describedBy: { args: { type: 'object', properties: {} } }, // no arguments
      caption: `Copy ${TOUR_NAME} into the current folder when it is missing, then open it`,
      icon: tdaIcon,
      execute: async () => {
        const path = PathExt.join(cwd(), TOUR_NAME);
        try {
          let exists = true;
          try {
            await contents.get(path, { content: false });
          } catch {
            exists = false;
          }
          if (!exists) {
            const tour = await fetchTour();
            await contents.save(path, {
              type: 'notebook',
              format: 'json',
              content: tour
            });
          }
          return commands.execute('docmanager:open', { path });
        } catch (error) {
          void showErrorMessage('tda-widgets tour', String(error));
        }
      }
    });

    commands.addCommand(CommandIDs.newNotebook, {
      label: 'New tda-widgets notebook',
      describedBy: { args: { type: 'object', properties: {} } }, // no arguments
      caption: 'A new notebook that loads tda-widgets and the demo model',
      icon: tdaIcon,
      execute: async () => {
        try {
          const model = await contents.newUntitled({
            path: cwd(),
            type: 'notebook'
          });
          await contents.save(model.path, {
            type: 'notebook',
            format: 'json',
            content: starterNotebook()
          });
          return commands.execute('docmanager:open', {
            path: model.path,
            factory: 'Notebook'
          });
        } catch (error) {
          void showErrorMessage('New tda-widgets notebook', String(error));
        }
      }
    });

    for (const command of [
      CommandIDs.openTour,
      CommandIDs.newNotebook,
      CommandIDs.openPanel
    ]) {
      palette?.addItem({ command, category: CATEGORY });
    }
    if (launcher) {
      launcher.add({
        command: CommandIDs.newNotebook,
        category: CATEGORY,
        rank: 1
      });
      launcher.add({
        command: CommandIDs.openTour,
        category: CATEGORY,
        rank: 2
      });
    }
  }
};

export default plugin;
