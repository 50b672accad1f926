import { describe, expect, it } from 'vitest';
import { formatBytes, formatCost, formatDateTime, formatDuration, formatElapsed, formatRelativeTime, formatTokens } from './format';

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'],
    [850, '850 ms'],
    [1_000, '1.0 s'],
    [12_345, '12 s'],
    [9_950, '9.9 s'],
    [245_000, '4 min 05 s'],
    [7_620_000, '2 h 07 min'],
    [-5, '—'],
    [Number.NaN, '—'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('measures between two instants', () => {
    expect(formatElapsed('2026-05-09T10:00:00Z', '2026-05-09T10:01:30Z')).toBe('1 min 30 s');
  });
});

describe('formatRelativeTime', () => {
  const now = Date.parse('2026-05-09T12:00:00Z');
  it.each([
    ['2026-05-09T11:59:55Z', 'just now'],
    ['2026-05-09T11:59:00Z', '1 minute ago'],
    ['2026-05-09T11:55:00Z', '5 minutes ago'],
    ['2026-05-09T09:00:00Z', '3 hours ago'],
    ['2026-05-08T12:00:00Z', 'yesterday'],
    ['2026-05-06T12:00:00Z', '3 days ago'],
    ['2026-05-09T14:00:00Z', 'in 2 hours'],
    ['not a date', '—'],
  ])('%s → %s', (value, text) => {
    expect(formatRelativeTime(value, now, 'en')).toBe(text);
  });
});

describe('formatDateTime', () => {
  it('formats in the given locale and zone', () => {
    expect(formatDateTime('2026-05-09T14:03:00Z', 'en-GB', 'UTC')).toBe('9 May 2026, 14:03');
  });
  it('survives bad input', () => {
    expect(formatDateTime('nope')).toBe('—');
  });
});

describe('formatCost', () => {
  it.each([
    [0, '$0'],
    [0.00004, '<$0.0001'],
    [0.0012, '$0.0012'],
    [0.12345, '$0.1235'],
    [3.5, '$3.50'],
    [1234, '$1,234.00'],
  ])('%d → %s', (usd, text) => {
    expect(formatCost(usd)).toBe(text);
  });
});

describe('formatTokens', () => {
  it.each([
    [0, '0'],
    [1234, '1,234'],
    [9999, '9,999'],
    [12_345, '12.3k'],
    [4_500_000, '4.5M'],
  ])('%d → %s', (count, text) => {
    expect(formatTokens(count)).toBe(text);
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [512, '512 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [10 * 1024 * 1024, '10 MiB'],
    [52_428_800, '50 MiB'],
    [-1, '—'],
  ])('%d → %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
