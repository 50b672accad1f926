import { screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { noContent, type FakeServer } from '@/testing/fake-server';
import { renderApp } from '@/testing/render-app';
import { installSignedInServer, resetSession } from '@/testing/session';

let server: FakeServer;

beforeEach(() => {
  resetSession();
  document.documentElement.dataset.theme = 'system';
  server = installSignedInServer();
});

async function openApp(path = '/history') {
  const app = renderApp(path);
  await screen.findByRole('navigation', { name: 'Main' });
  return app;
}

describe('AppLayout', () => {
  it('shows the landmarks, the main navigation and who is signed in', async () => {
    await openApp();

    expect(screen.getByRole('banner')).toHaveTextContent('Cadre');
    expect(screen.getByRole('main')).toHaveAttribute('id', 'main');
    expect(screen.getByRole('link', { name: 'Skip to content' })).toHaveAttribute('href', '#main');
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(within(nav).getAllByRole('link').map((link) => [link.textContent, link.getAttribute('href')])).toEqual([
      ['New run', '/runs/new'],
      ['History', '/history'],
      ['Teams', '/teams'],
      ['Settings', '/settings'],
    ]);
    expect(within(nav).getByRole('link', { name: 'History' })).toHaveAttribute('aria-current', 'page');
    expect(screen.getByText('ada@example.com')).toBeInTheDocument();
  });

  it('switches the theme with the toggle', async () => {
    const { user } = await openApp();
    const theme = screen.getByRole('group', { name: 'Theme' });
    expect(within(theme).getByRole('radio', { name: 'System' })).toBeChecked();

    await user.click(within(theme).getByRole('radio', { name: 'Dark' }));
    expect(document.documentElement).toHaveAttribute('data-theme', 'dark');
    expect(window.localStorage.getItem('cadre.theme')).toBe('dark');

    await user.click(within(theme).getByRole('radio', { name: 'Light' }));
    expect(document.documentElement).toHaveAttribute('data-theme', 'light');
    expect(within(theme).getByRole('radio', { name: 'Light' })).toBeChecked();
  });

  it('opens and closes the menu button', async () => {
    const { user } = await openApp();
    const button = screen.getByRole('button', { name: 'Menu' });
    expect(button).toHaveAttribute('aria-expanded', 'false');

    await user.click(button);
    expect(button).toHaveAttribute('aria-expanded', 'true');

    await user.click(screen.getByRole('link', { name: 'Teams' }));
    expect(button).toHaveAttribute('aria-expanded', 'false');
  });

  it('redirects / to a new run', async () => {
    const { router } = await openApp('/');
    expect(await screen.findByRole('heading', { name: 'New run' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/runs/new');
  });

  it('signs out and shows the sign-in page', async () => {
    server.on('DELETE', '/api/v1/auth/session', noContent());
    const { user } = await openApp();

    await user.click(screen.getByRole('button', { name: 'Sign out' }));

    expect(await screen.findByRole('heading', { name: 'Sign in' })).toBeInTheDocument();
    expect(server.requests('DELETE', '/api/v1/auth/session')).toHaveLength(1);
  });
});
