// The API layer: typed client, errors, query keys, schema aliases.
export {
  accessToken,
  accessTokenExpiry,
  api,
  authMiddleware,
  connectSession,
  refreshAccessToken,
  unwrap,
  type SessionBridge,
} from './client';
export { ApiError, apiErrorFromBody, isAbortError, isErrorBody, toApiError, type ApiFieldError } from './errors';
export { queryKeys } from './query-keys';
export * from './types';
