// POST /api/v1/auth/session/refresh: trades the refresh cookie for a new access token
// (and a rotated cookie). 401 when there is no valid session.
import { api, unwrap } from '@/lib/api/client';

export function refreshSession() {
  return unwrap(api.POST('/api/v1/auth/session/refresh'));
}
