// The auth feature's public surface.
export { useInfo, getInfo, infoQueryOptions } from '@/lib/api/get-info';
export { GuestOnly, RequireAuth, redirectTarget, type LoginRedirectState } from './components/RequireAuth';
export { LoginPage } from './components/LoginPage';
export { RegisterPage } from './components/RegisterPage';
export { bootstrapSession, useSession, type SessionState, type SessionStatus, type SessionUser } from './stores/session';
