//! Owns the OpenAPI 3.1 document of the API (generated from the handlers' annotations)
//! and its routes: `/openapi.json` and the Swagger UI at `/docs`, served from the binary.

use axum::Router;
use utoipa::openapi::security::{Flow, OAuth2, Password, Scopes, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use super::AppState;
use super::{
    admin, auth, error, events, files, health, info, providers, runs, sandbox_view, session, teams,
    tokens, tools, transcript, ws,
};

/// The OpenAPI document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Cadre API", description = "Multi-agent LLM runs as a service."),
    modifiers(&BearerAuth, &CommonResponses),
    security(("oauth2" = [])),
    paths(
        health::healthz,
        health::readyz,
        health::metrics,
        auth::token,
        auth::logout,
        auth::register,
        auth::me,
        session::sign_in,
        session::refresh,
        session::sign_out,
        info::info,
        info::models,
        tokens::create_token,
        tokens::list_tokens,
        tokens::revoke_token,
        providers::list_providers,
        providers::get_provider,
        providers::put_provider,
        providers::delete_provider,
        admin::list_users,
        admin::list_all_runs,
        admin::list_audit,
        runs::create_run,
        runs::list_runs,
        runs::get_run,
        runs::delete_run,
        runs::cancel_run,
        runs::submit_input,
        runs::fork_run,
        events::list_events,
        events::stream_events,
        ws::run_socket,
        transcript::get_transcript,
        files::list_files,
        files::download_file,
        teams::list_teams,
        teams::create_team,
        teams::import_team,
        teams::starter_gallery,
        teams::get_team,
        teams::update_team,
        teams::delete_team,
        teams::export_team,
        tools::list_tools,
    ),
    components(schemas(
        auth::TokenRequest,
        auth::TokenResponse,
        auth::UserView,
        auth::LogoutRequest,
        auth::RegisterRequest,
        session::SessionRequest,
        session::SessionResponse,
        info::ServerInfo,
        sandbox_view::SandboxView,
        sandbox_view::SandboxState,
        info::ModelCatalog,
        info::ModelOption,
        info::ModelSource,
        tokens::CreateTokenBody,
        tokens::TokenView,
        tokens::CreatedToken,
        admin::AuditView,
        providers::ProviderView,
        providers::PutProviderBody,
        error::ErrorBody,
        error::ErrorObject,
        error::FieldError,
        health::Health,
        health::Readiness,
        health::ReadinessChecks,
        health::DependencyCheck,
        runs::CreateRunBody,
        runs::BuildBody,
        runs::RunView,
        runs::RunSettingsView,
        runs::RunErrorView,
        runs::RunList,
        runs::RunInputBody,
        runs::ForkRunBody,
        runs::ForkOriginView,
        cadre_core::RunEvent,
        cadre_core::EventKind,
        cadre_core::RunStatus,
        cadre_core::StopReason,
        cadre_core::FailureCode,
        cadre_core::UsageTotals,
        cadre_core::event::LogLevel,
        cadre_core::ArtifactFile,
        cadre_core::ArtifactSkip,
        cadre_core::TeamSpec,
        cadre_core::AgentSpec,
        cadre_core::HumanInput,
        cadre_core::SpeakerSelection,
        cadre_core::Termination,
        cadre_core::team::CodeExecution,
        cadre_core::TeamFormat,
        error::ErrorCode,
        events::EventPage,
        events::RunEventFrame,
        teams::TeamView,
        tools::ToolsView,
        tools::UnavailableServer,
        cadre_core::ToolInfo,
        teams::TeamList,
        teams::ImportedTeamView,
        teams::StarterTeamView,
        teams::StarterGallery,
        transcript::TranscriptFormat,
        transcript::Transcript,
        transcript::TranscriptMessage,
        transcript::TranscriptCode,
        transcript::TranscriptCodeResult,
        transcript::TranscriptToolCall,
        transcript::TranscriptToolResult,
        transcript::TranscriptError,
        transcript::TranscriptOutcome,
        files::RunFileView,
        files::RunFileList,
    )),
    tags(
        (name = "health", description = "Probes"),
        (name = "auth", description = "Login (OAuth2 password flow), tokens, accounts"),
        (name = "providers", description = "Your LLM provider keys (write-only, stored sealed)"),
        (name = "admin", description = "Everyone's users, runs and the audit log (admins)"),
        (name = "runs", description = "Runs"),
        (name = "events", description = "Run events (JSON pages, SSE and WebSocket)"),
        (name = "teams", description = "Saved teams, AutoGen import and export"),
    )
)]
pub struct ApiDoc;

/// The security scheme every protected operation requires: OAuth2's password flow at
/// `/api/v1/auth/token`, so Swagger UI's *Authorize* button logs in and then sends
/// `Authorization: Bearer …`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::Password(Password::new(
                    "/api/v1/auth/token",
                    Scopes::new(),
                ))],
                "Email and password; the access token is a short-lived JWT",
            )),
        );
    }
}

/// The answers every operation of a kind can give, whether or not its annotation lists
/// them, because they come from the shared extractors and layers rather than from the
/// handler: 400 for a path or query parameter that does not parse or a body that is not
/// valid JSON (`ApiPath`, `ApiQuery`, `ApiJson`), 413 and 415 for any body (the body
/// limit, the content-type check, 422 for a body that is JSON but not of the schema), 401 for every authenticated operation. Added here in
/// one place so the document cannot forget one (Schemathesis checks every status).
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let has_body = operation.request_body.is_some();
                let has_parameters = operation
                    .parameters
                    .as_ref()
                    .is_some_and(|parameters| !parameters.is_empty());
                // `security: [{}]` marks the public operations; `None` inherits the
                // document's bearer requirement.
                let authenticated = operation.security.is_none();
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| error(description).into());
                };
                if has_body || has_parameters {
                    add(
                        "400",
                        "Malformed request: a path or query parameter that does not parse, \
                         or a body that is not valid JSON",
                    );
                }
                if has_body {
                    add("413", "The body is larger than the server accepts");
                    add("415", "The body is not of the documented content type");
                    add(
                        "422",
                        "The body does not match its schema, or a value is invalid",
                    );
                }
                if authenticated {
                    add("401", "Missing, expired or revoked access token");
                }
            }
        }
    }
}

/// `/openapi.json` and `/docs`.
pub fn router() -> Router<AppState> {
    Router::from(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
}
