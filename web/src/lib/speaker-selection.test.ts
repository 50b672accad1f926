import { describe, expect, it } from 'vitest';
import { SIMPLE_SPEAKER_METHODS, SPEAKER_METHODS, isSimpleSpeakerMethod, isSpeakerMethod } from './speaker-selection';
import { checkTeamSpec } from './team-spec';

describe('speaker-selection methods', () => {
  it('are the methods the team check accepts, in picker order', () => {
    // The lists are keyed by the generated types, so the compiler checks they are complete.
    expect(SPEAKER_METHODS).toEqual(['auto', 'round_robin', 'random', 'manual', 'graph']);
    expect(SIMPLE_SPEAKER_METHODS).toEqual(['auto', 'round_robin', 'random', 'manual']);
    const team = (speaker_selection: unknown) => checkTeamSpec({ name: 'T', agents: [{ name: 'A', system_message: 'x' }], speaker_selection });
    for (const method of SPEAKER_METHODS) {
      expect(team(method === 'graph' ? { method, transitions: { A: ['A'] } } : { method }).ok).toBe(true);
    }
    expect(team({ method: 'loudest' }).ok).toBe(false);
  });

  it('tell methods, and methods without settings, from other values', () => {
    expect(SPEAKER_METHODS.filter(isSimpleSpeakerMethod)).toEqual(SIMPLE_SPEAKER_METHODS);
    expect(SPEAKER_METHODS.every(isSpeakerMethod)).toBe(true);
    for (const value of ['', 'loudest', 'toString', null, 1]) {
      expect(isSpeakerMethod(value)).toBe(false);
      expect(isSimpleSpeakerMethod(value)).toBe(false);
    }
  });
});
