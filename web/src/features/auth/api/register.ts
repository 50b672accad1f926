// POST /api/v1/auth/register: creates an account (only when the server allows it; 403
// otherwise, 409 when the email is taken, 422 with per-field messages).
import { api, unwrap } from '@/lib/api/client';
import type { Credentials } from './create-session';

export function registerAccount(credentials: Credentials) {
  return unwrap(api.POST('/api/v1/auth/register', { body: credentials }));
}
