import { LabIcon } from '@jupyterlab/ui-components';

/** The Streams panel's icon: three lines flowing, one a sparkline. */
export const streamsIcon = new LabIcon({
  name: 'stream-nb:streams',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<g fill="none"><g class="jp-icon3" stroke="#616161" stroke-width="2" stroke-linecap="round">' +
    '<path d="M3 6h12"/><path d="M3 12h8"/>' +
    '<path d="M3 19l4-3 4 2 5-6 5 3"/><path d="M17 4l3 2-3 2"/></g></g></svg>'
});
