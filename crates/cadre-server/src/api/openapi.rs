//! Owns the OpenAPI 3.1 document of the API (generated from the handlers' annotations)
//! and its routes: `/openapi.json` and the Swagger UI at `/docs`, served from the binary.

use axum::Router;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use super::AppState;
use super::{error, events, health, runs, teams, transcript, ws};

/// The OpenAPI document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Cadre API", description = "Multi-agent LLM runs as a service."),
    paths(
        health::healthz,
        health::readyz,
        runs::create_run,
        runs::list_runs,
        runs::get_run,
        runs::delete_run,
        runs::cancel_run,
        runs::submit_input,
        events::list_events,
        events::stream_events,
        ws::run_socket,
        transcript::get_transcript,
        teams::list_teams,
        teams::create_team,
        teams::import_team,
        teams::get_team,
        teams::update_team,
        teams::delete_team,
        teams::export_team,
    ),
    components(schemas(
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
        runs::RunStatusView,
        runs::RunErrorView,
        runs::UsageView,
        runs::RunList,
        runs::RunInputBody,
        events::RunEventSchema,
        events::EventPage,
        teams::TeamView,
        teams::TeamList,
        transcript::TranscriptFormat,
        transcript::Transcript,
        transcript::TranscriptMessage,
        transcript::TranscriptCode,
        transcript::TranscriptCodeResult,
        transcript::TranscriptError,
        transcript::TranscriptOutcome,
    )),
    tags(
        (name = "health", description = "Probes"),
        (name = "runs", description = "Runs"),
        (name = "events", description = "Run events (JSON pages, SSE and WebSocket)"),
        (name = "teams", description = "Saved teams, AutoGen import and export"),
    )
)]
pub struct ApiDoc;

/// `/openapi.json` and `/docs`.
pub fn router() -> Router<AppState> {
    Router::from(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
}
