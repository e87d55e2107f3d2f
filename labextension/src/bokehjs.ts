/**
 * BokehJS from the Jupyter server (stream_nb's server extension serves the installed bokeh package's files),
 * loaded into the page once: the live views' charts (jupyter_bokeh widgets) draw with it, with no internet,
 * and no notebook output has to carry it.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

interface IBokehJS {
  version: string;
  js: string[];
}

let loading: Promise<void> | null = null;

/** Load BokehJS into the page (once); resolves when `window.Bokeh` is there, or loading failed. */
export function loadBokehJS(): Promise<void> {
  if (!loading) {
    loading = load().catch(reason => {
      console.warn('stream_nb: could not load BokehJS from the server', reason);
    });
  }
  return loading;
}

async function load(): Promise<void> {
  if ((window as any).Bokeh !== undefined) {
    return; // someone loaded it already
  }
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'stream_nb', 'bokehjs');
  const response = await ServerConnection.makeRequest(url, {}, settings);
  if (!response.ok) {
    throw new Error(`${url}: ${response.status} ${response.statusText}`);
  }
  const bokehjs = (await response.json()) as IBokehJS;
  for (const src of bokehjs.js) {
    await script(src); // in order: bokeh itself, then its gl, widgets and tables bundles
  }
}

function script(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const element = document.createElement('script');
    element.src = src;
    element.async = false;
    element.onload = () => resolve();
    element.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(element);
  });
}
