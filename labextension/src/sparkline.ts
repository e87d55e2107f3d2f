/** A small inline SVG line of recent values: the panel's picture of a query's processed rows a second. */

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Draw `values` (oldest first) as a polyline `width` x `height` pixels, scaled from 0 to the largest value.
 */
export function sparkline(
  values: number[],
  width = 80,
  height = 18
): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.classList.add('sn-sparkline');
  const line = document.createElementNS(SVG_NS, 'polyline');
  line.setAttribute('points', points(values, width, height));
  svg.appendChild(line);
  return svg;
}

/** The polyline's points, with one pixel of margin; a single value is a flat line across. */
export function points(
  values: number[],
  width: number,
  height: number
): string {
  if (!values.length) {
    return '';
  }
  const shown = values.length > 1 ? values : [values[0], values[0]];
  const top = Math.max(...shown) || 1;
  const step = (width - 2) / (shown.length - 1);
  return shown
    .map((v, i) => {
      const x = 1 + i * step;
      const y = height - 1 - (Math.max(v, 0) / top) * (height - 2);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}
