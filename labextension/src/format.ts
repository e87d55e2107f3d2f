/** How numbers and times read in the panel and the status bar (the kernel's views use the same forms). */

/** Rows a second, short: `1.2 k`, `12.3`, `—`. */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !isFinite(rate)) {
    return '—';
  }
  if (rate >= 1e6) {
    return `${(rate / 1e6).toFixed(1)} M`;
  }
  if (rate >= 1e3) {
    return `${(rate / 1e3).toFixed(1)} k`;
  }
  return rate.toFixed(1);
}

/** A UTC timestamp as `2026-11-24 10:00:05` (milliseconds only when there are some). */
export function formatTime(iso: string | null): string {
  if (!iso) {
    return '—';
  }
  const date = new Date(iso);
  if (isNaN(date.getTime())) {
    return iso;
  }
  const text = date.toISOString().replace('T', ' ');
  return date.getUTCMilliseconds() ? text.slice(0, 23) : text.slice(0, 19);
}

/** A count with thousands separators. */
export function formatCount(n: number | null): string {
  return n === null ? '—' : n.toLocaleString('en-US');
}

/** A continuous epoch's arrival-to-sink latency, as the kernel's status bar says it
 * (`stream_nb/notebook/status.py: latency_text`): `latency p50 0.21 ms, p99 0.8 ms`. */
export function formatLatency(
  latency: { p50?: number | null; p99?: number | null } | null | undefined
): string {
  if (!latency || latency.p50 === null || latency.p50 === undefined) {
    return 'latency —';
  }
  const ms = (value: number | null | undefined) =>
    value === null || value === undefined ? '—' : Number(value.toPrecision(3));
  return `latency p50 ${ms(latency.p50)} ms, p99 ${ms(latency.p99)} ms`;
}
