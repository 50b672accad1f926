import { screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { apiError, installFakeServer, json, type FakeServer } from '@/testing/fake-server';
import { renderApp } from '@/testing/render-app';
import { grant, resetSession } from '@/testing/session';

const SESSION = '/api/v1/auth/session';

let server: FakeServer;

beforeEach(() => {
  resetSession();
  server = installFakeServer()
    .on('POST', '/api/v1/auth/session/refresh', apiError(401, 'unauthorized', 'no session'))
    .on('GET', '/api/v1/info', json({ version: '0.1.0', registration: false }));
});

async function openLogin(path = '/login') {
  const app = renderApp(path);
  await screen.findByRole('heading', { name: 'Sign in' });
  return app;
}

describe('LoginPage', () => {
  it('has labelled email and password fields and a submit button', async () => {
    await openLogin();

    expect(screen.getByRole('textbox', { name: 'Email' })).toHaveAttribute('autocomplete', 'username');
    expect(screen.getByLabelText(/^Password/)).toHaveAttribute('type', 'password');
    expect(screen.getByRole('button', { name: 'Sign in' })).toHaveAttribute('type', 'submit');
    expect(screen.getByRole('main')).toBeInTheDocument();
  });

  it('signs in through the API and goes to a new run', async () => {
    server.on('POST', SESSION, json(grant()));
    const { user, router } = await openLogin();

    await user.type(screen.getByRole('textbox', { name: 'Email' }), 'ada@example.com');
    await user.type(screen.getByLabelText(/^Password/), 'correct horse battery');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('heading', { name: 'New run' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/runs/new');
    const [request] = server.requests('POST', SESSION);
    expect(JSON.parse(request!.body)).toEqual({ email: 'ada@example.com', password: 'correct horse battery' });
  });

  it("shows the server's error message", async () => {
    server.on('POST', SESSION, apiError(400, 'invalid_grant', 'wrong email or password'));
    const { user } = await openLogin();

    await user.type(screen.getByRole('textbox', { name: 'Email' }), 'ada@example.com');
    await user.type(screen.getByLabelText(/^Password/), 'wrong');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('alert')).toHaveTextContent('wrong email or password');
    expect(screen.getByRole('heading', { name: 'Sign in' })).toBeInTheDocument();
  });

  it('submits with the keyboard', async () => {
    server.on('POST', SESSION, json(grant()));
    const { user } = await openLogin();

    await user.click(screen.getByRole('textbox', { name: 'Email' }));
    await user.keyboard('ada@example.com');
    await user.tab();
    await user.keyboard('correct horse battery{Enter}');

    expect(await screen.findByRole('heading', { name: 'New run' })).toBeInTheDocument();
    expect(server.requests('POST', SESSION)).toHaveLength(1);
  });

  it('asks for missing fields without calling the API', async () => {
    const { user } = await openLogin();

    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    const email = screen.getByRole('textbox', { name: 'Email' });
    expect(email).toHaveAttribute('aria-invalid', 'true');
    expect(email).toHaveAccessibleDescription('Enter your email address.');
    expect(server.requests('POST', SESSION)).toHaveLength(0);
  });

  it('offers registration only when the server allows it', async () => {
    await openLogin();
    expect(screen.queryByRole('link', { name: 'Create an account' })).not.toBeInTheDocument();
  });

  it('links to registration when it is open', async () => {
    server.on('GET', '/api/v1/info', json({ version: '0.1.0', registration: true }));
    await openLogin();
    expect(await screen.findByRole('link', { name: 'Create an account' })).toHaveAttribute('href', '/register');
  });

  it('returns to the page the user was going to', async () => {
    server.on('POST', SESSION, json(grant()));
    const { user, router } = await openLogin('/teams');
    expect(router.state.location.pathname).toBe('/login');

    await user.type(screen.getByRole('textbox', { name: 'Email' }), 'ada@example.com');
    await user.type(screen.getByLabelText(/^Password/), 'correct horse battery{Enter}');

    const main = await screen.findByRole('main');
    expect(await within(main).findByRole('heading', { name: 'Teams' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/teams');
  });
});
