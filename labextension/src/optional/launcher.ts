/**
 * The launcher's token, in its own chunk: imported on demand so that a front end without a
 * launcher (Voilà) never loads @jupyterlab/launcher and the extension still loads.
 */
export { ILauncher } from '@jupyterlab/launcher';
