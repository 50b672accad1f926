// The signed-in shell: a skip link, the header (app name, main navigation, the user's
// email, theme, sign out) and <main> where the routed page renders. Below 48rem the
// navigation and user controls fold into a menu button.
import { useState } from 'react';
import { Link, NavLink, Outlet } from 'react-router';
import { ThemeToggle } from '@/components/ThemeToggle';
import { Button } from '@/components/ui';
import { useSession } from '@/features/auth';

/** The main navigation, in order. */
export const NAV_ITEMS = [
  { to: '/runs/new', label: 'New run' },
  { to: '/history', label: 'History' },
  { to: '/teams', label: 'Teams' },
  { to: '/settings', label: 'Settings' },
] as const;

function MenuIcon({ open }: { open: boolean }) {
  return (
    <svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true">
      {open ? <path d="M6 6l12 12M18 6L6 18" /> : <path d="M4 7h16M4 12h16M4 17h16" />}
    </svg>
  );
}

export function AppLayout() {
  const email = useSession((state) => state.user?.email);
  const signOut = useSession((state) => state.signOut);
  const [menuOpen, setMenuOpen] = useState(false);
  const [signingOut, setSigningOut] = useState(false);
  const closeMenu = () => setMenuOpen(false);

  async function onSignOut() {
    setSigningOut(true);
    await signOut();
  }

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <div className="app-header__bar">
          <Link to="/" className="app-header__brand" onClick={closeMenu}>
            Cadre
          </Link>
          <button
            type="button"
            className="app-header__menu-button btn btn--ghost"
            aria-expanded={menuOpen}
            aria-controls="app-menu"
            onClick={() => setMenuOpen((open) => !open)}
          >
            <MenuIcon open={menuOpen} />
            <span className="visually-hidden">Menu</span>
          </button>
          <div
            id="app-menu"
            className="app-header__menu"
            data-open={menuOpen}
            onKeyDown={(event) => {
              if (event.key === 'Escape') closeMenu();
            }}
          >
            <nav aria-label="Main" className="app-nav">
              <ul className="app-nav__list">
                {NAV_ITEMS.map((item) => (
                  <li key={item.to}>
                    <NavLink to={item.to} className="app-nav__link" onClick={closeMenu}>
                      {item.label}
                    </NavLink>
                  </li>
                ))}
              </ul>
            </nav>
            <div className="app-header__user">
              {email && (
                <span className="app-header__email" title={email}>
                  <span className="visually-hidden">Signed in as </span>
                  {email}
                </span>
              )}
              <ThemeToggle />
              <Button variant="ghost" size="sm" onClick={onSignOut} loading={signingOut}>
                Sign out
              </Button>
            </div>
          </div>
        </div>
      </header>
      <main id="main" className="app-main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
