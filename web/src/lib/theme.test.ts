import { beforeEach, describe, expect, it } from 'vitest';
import { applyTheme, getThemePreference, setThemePreference } from './theme';

beforeEach(() => {
  delete document.documentElement.dataset.theme;
});

describe('theme', () => {
  it('defaults to following the system', () => {
    expect(getThemePreference()).toBe('system');
    applyTheme();
    expect(document.documentElement.dataset.theme).toBe('system');
  });

  it('remembers and applies a choice', () => {
    setThemePreference('dark');
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect(getThemePreference()).toBe('dark');
  });

  it('ignores a corrupt saved value', () => {
    window.localStorage.setItem('cadre.theme', 'purple');
    expect(getThemePreference()).toBe('system');
  });
});
