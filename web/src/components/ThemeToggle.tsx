// ThemeToggle: Light / Dark / System as a labelled radio group (arrow keys move between
// the options, as in any radio group).
import { useId } from 'react';
import { THEME_PREFERENCES, useThemePreference, type ThemePreference } from '@/lib/theme';

const LABELS: Record<ThemePreference, string> = { light: 'Light', dark: 'Dark', system: 'System' };

function ThemeIcon({ theme }: { theme: ThemePreference }) {
  const common = { width: 16, height: 16, viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor', strokeWidth: 2, 'aria-hidden': true } as const;
  switch (theme) {
    case 'light':
      return (
        <svg {...common}>
          <circle cx="12" cy="12" r="4" />
          <path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4" />
        </svg>
      );
    case 'dark':
      return (
        <svg {...common}>
          <path d="M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z" />
        </svg>
      );
    case 'system':
      return (
        <svg {...common}>
          <rect x="3" y="4" width="18" height="12" rx="2" />
          <path d="M8 20h8M12 16v4" />
        </svg>
      );
  }
}

export function ThemeToggle() {
  const [preference, setPreference] = useThemePreference();
  const name = useId();
  return (
    <fieldset className="theme-toggle">
      <legend className="visually-hidden">Theme</legend>
      {THEME_PREFERENCES.map((theme) => (
        <label key={theme} className="theme-toggle__option" title={LABELS[theme]}>
          <input
            type="radio"
            className="visually-hidden"
            name={name}
            value={theme}
            checked={preference === theme}
            onChange={() => setPreference(theme)}
          />
          <ThemeIcon theme={theme} />
          <span className="visually-hidden">{LABELS[theme]}</span>
        </label>
      ))}
    </fieldset>
  );
}
