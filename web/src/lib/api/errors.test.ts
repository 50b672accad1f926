import { describe, expect, it } from 'vitest';

import { ApiError, apiErrorFromBody, toApiError } from './errors';

describe('apiErrorFromBody', () => {
  it('keeps the code, message and field errors of our error shape', () => {
    const error = apiErrorFromBody(422, {
      error: {
        code: 'validation_failed',
        message: 'task: must not be empty',
        details: { fields: [{ field: 'task', message: 'must not be empty' }] },
      },
    });
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(error.code).toBe('validation_failed');
    expect(error.message).toBe('task: must not be empty');
    expect(error.fieldErrors).toEqual({ task: 'must not be empty' });
  });

  it('adds the precise reason of a rejected body to the message', () => {
    const error = apiErrorFromBody(422, {
      error: {
        code: 'validation_failed',
        message: 'the body does not match the schema',
        details: { reason: 'agents[0]: missing field `system_message` at line 1 column 40' },
      },
    });
    expect(error.message).toBe(
      'the body does not match the schema: agents[0]: missing field `system_message` at line 1 column 40',
    );
  });

  it('turns an answer that is not our shape into a bad_response', () => {
    const error = apiErrorFromBody(502, '<html>Bad gateway</html>');
    expect(error.code).toBe('bad_response');
    expect(error.message).toContain('Bad gateway');
  });
});

describe('toApiError', () => {
  it('reports an unreachable server as a network error', () => {
    const error = toApiError(new TypeError('Failed to fetch'));
    expect(error.status).toBe(0);
    expect(error.code).toBe('network_error');
  });
});
