//! Owns the OpenAPI 3.1 document of the API (generated from the handlers' annotations)
//! and its routes: `/openapi.json` and the Swagger UI at `/docs`, served from the binary.

use axum::Router;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use super::AppState;
use super::{error, events, health, runs};

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
        events::list_events,
        events::stream_events,
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
        events::RunEventSchema,
        events::EventPage,
    )),
    tags(
        (name = "health", description = "Probes"),
        (name = "runs", description = "Runs"),
        (name = "events", description = "Run events (JSON pages and SSE)"),
    )
)]
pub struct ApiDoc;

/// `/openapi.json` and `/docs`.
pub fn router() -> Router<AppState> {
    Router::from(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
}
