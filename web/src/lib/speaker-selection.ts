// The speaker-selection methods (who speaks next in a group chat), in one place: the
// team check, the team form, the teams list and the new-run form all derive from these.
// The methods are the generated ones (`SpeakerSelection['method']` of a team,
// `SelectionMethod` of a run's override): a method the server adds or drops fails the
// typecheck here.
import type { SelectionMethod, SpeakerSelection } from '@/lib/api/types';

export type SpeakerMethod = SpeakerSelection['method'];
/** The methods that need no settings: what a run may override its team's method with
 *  (`speaker_selection` of a new run), and what the team form offers. */
export type SimpleSpeakerMethod = SelectionMethod;

/** How each method reads in pickers and lists, in the order pickers list them. `graph`
 *  also needs its allowed transitions, so it is only set in a team's JSON. */
export const SPEAKER_METHOD_LABELS: Readonly<Record<SpeakerMethod, string>> = {
  auto: 'Auto (the model picks)',
  round_robin: 'Round robin',
  random: 'Random',
  manual: 'Manual (you pick each speaker)',
  graph: 'Graph (allowed transitions)',
};

/** Every method, in the order pickers list them. */
export const SPEAKER_METHODS = Object.keys(SPEAKER_METHOD_LABELS) as [SpeakerMethod, ...SpeakerMethod[]];

const SIMPLE: Readonly<Record<SimpleSpeakerMethod, true>> = { auto: true, round_robin: true, random: true, manual: true };

/** The methods without settings, in the same order (a non-empty tuple, as `z.enum` wants it). */
export const SIMPLE_SPEAKER_METHODS = SPEAKER_METHODS.filter((method) => Object.hasOwn(SIMPLE, method)) as [
  SimpleSpeakerMethod,
  ...SimpleSpeakerMethod[],
];

/** The method a team uses when it names none. */
export const DEFAULT_SPEAKER_METHOD = 'auto' satisfies SimpleSpeakerMethod;

export function isSpeakerMethod(value: unknown): value is SpeakerMethod {
  return typeof value === 'string' && Object.hasOwn(SPEAKER_METHOD_LABELS, value);
}

export function isSimpleSpeakerMethod(value: unknown): value is SimpleSpeakerMethod {
  return typeof value === 'string' && Object.hasOwn(SIMPLE, value);
}
