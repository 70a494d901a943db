/**
 * The file browser's token, in its own chunk: imported on demand so that a front end without
 * a file browser (Voilà) never loads @jupyterlab/filebrowser and the extension still loads.
 */
export { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
