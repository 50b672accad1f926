import { screen } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { apiError, installFakeServer, json, type FakeServer } from '@/testing/fake-server';
import { renderApp } from '@/testing/render-app';
import { TEST_USER, grant, resetSession } from '@/testing/session';

let server: FakeServer;

beforeEach(() => {
  resetSession();
  server = installFakeServer()
    .on('POST', '/api/v1/auth/session/refresh', apiError(401, 'unauthorized', 'no session'))
    .on('GET', '/api/v1/info', json({ version: '0.1.0', registration: true }));
});

describe('RegisterPage', () => {
  it('says so when registration is closed', async () => {
    server.on('GET', '/api/v1/info', json({ version: '0.1.0', registration: false }));
    renderApp('/register');
    expect(await screen.findByText(/Registration is closed/)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Back to sign in' })).toHaveAttribute('href', '/login');
  });

  it('checks the form before calling the API', async () => {
    const { user } = renderApp('/register');
    await user.type(await screen.findByRole('textbox', { name: 'Email' }), 'not-an-email');
    await user.type(screen.getByLabelText(/^Password/), 'short');
    await user.type(screen.getByLabelText(/^Confirm password/), 'different{Enter}');

    expect(screen.getByRole('textbox', { name: 'Email' })).toBeInvalid();
    expect(screen.getByLabelText(/^Password/)).toHaveAccessibleDescription(/Use at least 10 characters/);
    expect(screen.getByLabelText(/^Confirm password/)).toHaveAccessibleDescription('The passwords do not match.');
    expect(server.requests('POST', '/api/v1/auth/register')).toHaveLength(0);
  });

  it('creates the account and signs in with it', async () => {
    server.on('POST', '/api/v1/auth/register', json(TEST_USER, 201));
    server.on('POST', '/api/v1/auth/session', json(grant()));
    const { user, router } = renderApp('/register');

    await user.type(await screen.findByRole('textbox', { name: 'Email' }), 'ada@example.com');
    await user.type(screen.getByLabelText(/^Password/), 'correct horse battery');
    await user.type(screen.getByLabelText(/^Confirm password/), 'correct horse battery{Enter}');

    expect(await screen.findByRole('heading', { name: 'New run' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/runs/new');
    expect(JSON.parse(server.requests('POST', '/api/v1/auth/register')[0]!.body)).toEqual({
      email: 'ada@example.com',
      password: 'correct horse battery',
    });
  });

  it("shows the server's refusal", async () => {
    server.on('POST', '/api/v1/auth/register', apiError(409, 'conflict', 'the email is taken'));
    const { user } = renderApp('/register');

    await user.type(await screen.findByRole('textbox', { name: 'Email' }), 'ada@example.com');
    await user.type(screen.getByLabelText(/^Password/), 'correct horse battery');
    await user.type(screen.getByLabelText(/^Confirm password/), 'correct horse battery{Enter}');

    expect(await screen.findByRole('alert')).toHaveTextContent('the email is taken');
  });
});
