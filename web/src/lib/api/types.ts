// Short names for the generated schema types that the UI uses everywhere. Add aliases
// here rather than spelling `components['schemas'][...]` in feature code.
//
// Free-form JSON in the document (a team spec, an event's `data`, error `details`) is
// generated as `Record<string, never>`: give it a real type (e.g. a zod schema of the
// team spec) where it is read, rather than reading its properties directly.
import type { components, paths } from './schema';

export type { components, paths };
/** Every schema of the OpenAPI document, by name. */
export type Schemas = components['schemas'];

export type ErrorBody = Schemas['ErrorBody'];
export type ServerInfo = Schemas['ServerInfo'];
export type SessionResponse = Schemas['SessionResponse'];
export type User = Schemas['UserView'];

export type Run = Schemas['RunView'];
export type RunList = Schemas['RunList'];
export type RunStatus = Schemas['RunStatusView'];
export type RunUsage = Schemas['UsageView'];
export type CreateRunBody = Schemas['CreateRunBody'];
/** One event of a run's log (`docs/DESIGN.md` §4); `data` depends on `type`. */
export type RunEvent = Schemas['RunEvent'];
export type EventPage = Schemas['EventPage'];
export type Transcript = Schemas['Transcript'];

export type Team = Schemas['TeamView'];
export type TeamList = Schemas['TeamList'];

export type ModelCatalog = Schemas['ModelCatalog'];
export type ModelOption = Schemas['ModelOption'];
export type Provider = Schemas['ProviderView'];
export type ApiToken = Schemas['TokenView'];

