// Theme preference: light, dark, or follow the system. The preference (not a secret) is
// kept in localStorage and applied as <html data-theme="…">; styles/tokens.css does the
// rest, including `prefers-color-scheme` for "system".
import { useSyncExternalStore } from 'react';

export type ThemePreference = 'light' | 'dark' | 'system';

export const THEME_PREFERENCES: readonly ThemePreference[] = ['light', 'dark', 'system'];
const STORAGE_KEY = 'cadre.theme';

function isThemePreference(value: unknown): value is ThemePreference {
  return typeof value === 'string' && (THEME_PREFERENCES as readonly string[]).includes(value);
}

/** The saved preference ("system" when none, or when storage is unavailable). */
export function getThemePreference(): ThemePreference {
  try {
    const stored = window.localStorage.getItem(STORAGE_KEY);
    return isThemePreference(stored) ? stored : 'system';
  } catch {
    return 'system';
  }
}

/** Sets <html data-theme>. Call once at start-up (main.tsx) with the saved preference. */
export function applyTheme(preference: ThemePreference = getThemePreference()): void {
  document.documentElement.dataset.theme = preference;
}

const listeners = new Set<() => void>();

/** Saves and applies a preference, and tells every `useThemePreference` hook. */
export function setThemePreference(preference: ThemePreference): void {
  try {
    window.localStorage.setItem(STORAGE_KEY, preference);
  } catch {
    // Private mode or storage disabled: the choice lasts for this page only.
  }
  applyTheme(preference);
  listeners.forEach((listener) => listener());
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  const onStorage = (event: StorageEvent) => {
    // Another tab changed it.
    if (event.key === STORAGE_KEY) {
      applyTheme();
      listener();
    }
  };
  window.addEventListener('storage', onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('storage', onStorage);
  };
}

function getSnapshot(): ThemePreference {
  const current = document.documentElement.dataset.theme;
  return isThemePreference(current) ? current : getThemePreference();
}

/** The current preference and a setter, for theme controls. */
export function useThemePreference(): [ThemePreference, (preference: ThemePreference) => void] {
  const preference = useSyncExternalStore(subscribe, getSnapshot, () => 'system' as const);
  return [preference, setThemePreference];
}
