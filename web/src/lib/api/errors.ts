// The API's error shape as a thrown value. Every failed call (an error status, or no
// answer at all) becomes an `ApiError` with the server's stable `code`, its message and
// the HTTP status (0 when the server could not be reached).

/** One invalid input field (`details.fields` of a `validation_failed` error). */
export interface ApiFieldError {
  field: string;
  message: string;
}

/** A failed API call. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** HTTP status; 0 for network failures. */
  readonly status: number;
  /** Stable code from the server (`not_found`, `invalid_grant`, …), or a client-side one:
   *  `network_error` (no answer), `bad_response` (an answer not in our error shape). */
  readonly code: string;
  /** Code-specific extra information, as sent. */
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Per-field messages of a `validation_failed` error, keyed by field path. */
  get fieldErrors(): Record<string, string> {
    const fields = (this.details as { fields?: unknown } | undefined)?.fields;
    if (!Array.isArray(fields)) return {};
    const out: Record<string, string> = {};
    for (const item of fields as unknown[]) {
      if (isFieldError(item)) out[item.field] = item.message;
    }
    return out;
  }
}

function isFieldError(value: unknown): value is ApiFieldError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ApiFieldError).field === 'string' &&
    typeof (value as ApiFieldError).message === 'string'
  );
}

/** Whether `value` is our `{"error": {"code", "message", "details"?}}` body. */
export function isErrorBody(value: unknown): value is { error: { code: string; message: string; details?: unknown } } {
  if (typeof value !== 'object' || value === null) return false;
  const error = (value as { error?: unknown }).error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

/** An `ApiError` from a parsed error body (or whatever the server sent) and its status. */
export function apiErrorFromBody(status: number, body: unknown): ApiError {
  if (isErrorBody(body)) {
    // Rejected bodies and queries carry the precise cause (which field, which type) in
    // `details.reason`; the message alone ("the body does not match the schema") is not
    // enough to act on.
    const reason = (body.error.details as { reason?: unknown } | undefined)?.reason;
    const message =
      typeof reason === 'string' && reason.trim() && !body.error.message.includes(reason)
        ? `${body.error.message}: ${reason.trim()}`
        : body.error.message;
    return new ApiError(status, body.error.code, message, body.error.details);
  }
  const text = typeof body === 'string' && body.trim() ? body.trim().slice(0, 200) : '';
  return new ApiError(status, 'bad_response', text || `the server answered ${status}`);
}

/** Whether an error is a cancelled request (React Query aborts those on purpose). */
export function isAbortError(error: unknown): boolean {
  return error instanceof DOMException ? error.name === 'AbortError' : (error as { name?: unknown } | null)?.name === 'AbortError';
}

/** Any thrown value as an `ApiError` (network failures get status 0). */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof TypeError) {
    // fetch() rejects with a TypeError when there is no answer (offline, DNS, CORS, …).
    return new ApiError(0, 'network_error', 'Cannot reach the server. Check your connection and try again.');
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ApiError(0, 'client_error', message || 'Something went wrong.');
}
