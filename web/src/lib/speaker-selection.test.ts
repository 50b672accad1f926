import { describe, expect, it } from 'vitest';
import { SIMPLE_SPEAKER_METHODS, SPEAKER_METHODS, isSimpleSpeakerMethod, isSpeakerMethod } from './speaker-selection';
import { speakerSelectionSchema } from './team-spec';

describe('speaker-selection methods', () => {
  it('match the team schema, one option per method', () => {
    expect(speakerSelectionSchema.options.map((option) => option.shape.method.value)).toEqual(SPEAKER_METHODS);
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
