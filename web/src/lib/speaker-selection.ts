// The speaker-selection methods (who speaks next in a group chat), in one place: the
// team schema, the team form, the teams list and the new-run form all derive from
// these. The API leaves the method a free string (a run's override) or free-form JSON
// (a team), so this list is the UI's definition of the methods the server accepts.

/** The methods that need no settings: what a run may override its team's method with
 *  (`speaker_selection` of a new run), and what the team form offers. */
export const SIMPLE_SPEAKER_METHODS = ['auto', 'round_robin', 'random', 'manual'] as const;

/** Every method, in the order pickers list them. `graph` also needs its allowed
 *  transitions, so it is only set in a team's JSON. */
export const SPEAKER_METHODS = [...SIMPLE_SPEAKER_METHODS, 'graph'] as const;

export type SpeakerMethod = (typeof SPEAKER_METHODS)[number];
export type SimpleSpeakerMethod = (typeof SIMPLE_SPEAKER_METHODS)[number];

/** How each method reads in pickers and lists. */
export const SPEAKER_METHOD_LABELS: Readonly<Record<SpeakerMethod, string>> = {
  auto: 'Auto (the model picks)',
  round_robin: 'Round robin',
  random: 'Random',
  manual: 'Manual (you pick each speaker)',
  graph: 'Graph (allowed transitions)',
};

/** The method a team uses when it names none. */
export const DEFAULT_SPEAKER_METHOD = 'auto' satisfies SimpleSpeakerMethod;

export function isSpeakerMethod(value: unknown): value is SpeakerMethod {
  return typeof value === 'string' && Object.hasOwn(SPEAKER_METHOD_LABELS, value);
}

export function isSimpleSpeakerMethod(value: unknown): value is SimpleSpeakerMethod {
  return (SIMPLE_SPEAKER_METHODS as readonly unknown[]).includes(value);
}
