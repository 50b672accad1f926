// DELETE /api/v1/auth/session: ends the login on the server and clears the cookie.
import { api, unwrap } from '@/lib/api/client';

export async function deleteSession(): Promise<void> {
  await unwrap(api.DELETE('/api/v1/auth/session'));
}
