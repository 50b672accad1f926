// Short names for the generated schema types that the UI uses everywhere. Add aliases
// here rather than spelling `components['schemas'][...]` in feature code. These are the
// only definitions of the server's types in the UI: a run event (a union on `type`,
// narrow on it to get its `data`), the team spec, the statuses and codes all come from
// `schema.d.ts`; do not re-declare them (no zod mirrors).
import type { components, paths } from './schema';

export type { components, paths };
/** Every schema of the OpenAPI document, by name. */
export type Schemas = components['schemas'];

export type ErrorBody = Schemas['ErrorBody'];
export type ServerInfo = Schemas['ServerInfo'];
export type SandboxView = Schemas['SandboxView'];
export type SessionResponse = Schemas['SessionResponse'];
export type User = Schemas['UserView'];

export type Run = Schemas['RunView'];
export type RunList = Schemas['RunList'];
export type RunStatus = Schemas['RunStatus'];
export type UsageTotals = Schemas['UsageTotals'];
export type FailureCode = Schemas['FailureCode'];
export type StopReason = Schemas['StopReason'];
export type ErrorCode = Schemas['ErrorCode'];
export type CreateRunBody = Schemas['CreateRunBody'];
/** `POST /api/v1/runs/{id}/fork`: the last event kept and, optionally, that message's new text. */
export type ForkRunBody = Schemas['ForkRunBody'];
/** Where a forked run came from (`Run.forked_from`). */
export type ForkOrigin = Schemas['ForkOriginView'];
/** One event of a run's log (`docs/DESIGN.md` §4): a union on `type`, each with its `data`. */
export type RunEvent = Schemas['RunEvent'];
/** The type of an event: `status`, `team`, `message_delta`, … */
export type RunEventType = RunEvent['type'];
/** The event of one type, e.g. `RunEventOf<'message'>` (its `data` typed). */
export type RunEventOf<T extends RunEventType> = Extract<RunEvent, { type: T }>;
export type EventPage = Schemas['EventPage'];
export type Transcript = Schemas['Transcript'];
/** A file a code block wrote, as its `code_result` event lists it. */
export type ArtifactFile = Schemas['ArtifactFile'];
/** Why an artifact's bytes were not kept. */
export type ArtifactSkip = Schemas['ArtifactSkip'];
/** A run's kept files (`GET /api/v1/runs/{id}/files`). */
export type RunFileList = Schemas['RunFileList'];

export type Team = Schemas['TeamView'];
/** The Cadre team JSON (cadre-core `TeamSpec`). */
export type TeamSpec = Schemas['TeamSpec'];
export type AgentSpec = Schemas['AgentSpec'];
export type SpeakerSelection = Schemas['SpeakerSelection'];
/** The methods of SpeakerSelection that need no settings (a run's override). */
export type SelectionMethod = Schemas['SelectionMethod'];
export type Termination = Schemas['Termination'];
export type CodeExecution = Schemas['CodeExecution'];
export type TeamList = Schemas['TeamList'];
/** A team saved by `POST /api/v1/teams/import`: the team, the format read and notes. */
export type ImportedTeam = Schemas['ImportedTeamView'];
/** The formats the import reads. */
export type TeamFormat = Schemas['TeamFormat'];
export type StarterGallery = Schemas['StarterGallery'];
/** One starter team of the gallery (`GET /api/v1/teams/gallery`). */
export type StarterTeam = Schemas['StarterTeamView'];

/** The deployment's MCP tools (`GET /api/v1/tools`): whether any server is configured, the
 *  tools of those that answered, and those that did not. */
export type ToolsView = Schemas['ToolsView'];
/** One tool, named `server.tool`. */
export type ToolInfo = Schemas['ToolInfo'];
export type UnavailableToolServer = Schemas['UnavailableServer'];

export type ModelCatalog = Schemas['ModelCatalog'];
export type ModelOption = Schemas['ModelOption'];
export type Provider = Schemas['ProviderView'];
export type ApiToken = Schemas['TokenView'];

