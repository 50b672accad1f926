// Display formatting shared by every page. All functions are pure and take an optional
// locale (default: the browser's) so tests can pin one.

type DateInput = string | number | Date;

function toDate(value: DateInput): Date {
  return value instanceof Date ? value : new Date(value);
}

/** A duration in milliseconds: "850 ms", "12.3 s", "4 min 05 s", "2 h 07 min". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const totalSeconds = Math.round(seconds);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes} min ${String(totalSeconds % 60).padStart(2, '0')} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** The time between two instants (e.g. a run's started_at and finished_at; `end`
 *  defaults to now), formatted with `formatDuration`. */
export function formatElapsed(start: DateInput, end: DateInput = Date.now()): string {
  return formatDuration(toDate(end).getTime() - toDate(start).getTime());
}

const RELATIVE_STEPS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
  ['week', 4.345],
  ['month', 12],
  ['year', Infinity],
];

/** "just now", "5 minutes ago", "in 2 hours", "3 days ago". */
export function formatRelativeTime(value: DateInput, now: DateInput = Date.now(), locale?: string): string {
  let delta = (toDate(value).getTime() - toDate(now).getTime()) / 1000;
  if (!Number.isFinite(delta)) return '—';
  if (Math.abs(delta) < 10) return 'just now';
  const format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  for (const [unit, size] of RELATIVE_STEPS) {
    if (Math.abs(delta) < size) return format.format(Math.round(delta), unit);
    delta /= size;
  }
  return format.format(Math.round(delta), 'year');
}

/** A date and time in the reader's locale and time zone: "9 May 2026, 14:03". */
export function formatDateTime(value: DateInput, locale?: string, timeZone?: string): string {
  const date = toDate(value);
  if (Number.isNaN(date.getTime())) return '—';
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(date);
}

/** Money in USD: 4 decimals below $1 (LLM calls cost fractions of a cent), else 2.
 *  "$0", "$0.0012", "<$0.0001", "$3.50", "$1,234.00". */
export function formatCost(usd: number, locale?: string): string {
  if (!Number.isFinite(usd)) return '—';
  if (usd === 0) return '$0';
  if (usd > 0 && usd < 0.0001) return '<$0.0001';
  const digits = Math.abs(usd) < 1 ? 4 : 2;
  return new Intl.NumberFormat(locale ?? 'en-US', {
    style: 'currency',
    currency: 'USD',
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(usd);
}

/** A token count: exact with grouping below 10,000 ("1,234"), compact above ("12.3k",
 *  "4.5M"). */
export function formatTokens(count: number, locale?: string): string {
  if (!Number.isFinite(count)) return '—';
  if (Math.abs(count) < 10_000) return new Intl.NumberFormat(locale ?? 'en-US').format(count);
  return new Intl.NumberFormat(locale ?? 'en-US', { notation: 'compact', maximumFractionDigits: 1 })
    .format(count)
    .toLowerCase()
    .replace('m', 'M')
    .replace('b', 'B');
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

/** A size in bytes, binary units: "0 B", "512 B", "1.5 KiB", "12 MiB" (one decimal below
 *  10 of a unit). */
export function formatBytes(bytes: number, locale?: string): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes;
  let unit = '';
  for (const next of BYTE_UNITS) {
    value /= 1024;
    unit = next;
    if (value < 1024) break;
  }
  const digits = value < 10 ? 1 : 0;
  const number = new Intl.NumberFormat(locale ?? 'en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
  return `${number} ${unit}`;
}
