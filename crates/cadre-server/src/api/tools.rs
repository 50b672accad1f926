//! Owns `GET /api/v1/tools`: the tools of the operator's MCP servers (`CADRE_MCP_CONFIG`)
//! that teams may allow their agents (`AgentSpec.tools`: `server.tool`, `server.*` or
//! `*`), and the servers that cannot be reached right now. Listing starts the servers
//! that are not running yet.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use cadre_core::tool::{ToolError, ToolInfo};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::AuthUser;
use super::error::ErrorBody;

/// The tools route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/tools", get(list_tools))
}

/// The deployment's tools.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ToolsView {
    /// Whether the operator configured any MCP servers.
    pub configured: bool,
    /// Every tool of the servers that answered, named `server.tool`.
    pub tools: Vec<ToolInfo>,
    /// Servers that could not be reached, and why.
    pub unavailable: Vec<UnavailableServer>,
}

/// A configured server that did not answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnavailableServer {
    /// Server name.
    pub server: String,
    /// What went wrong.
    pub message: String,
}

/// The tools agents may be allowed to call.
#[utoipa::path(get, path = "/api/v1/tools", tag = "teams",
    responses(
        (status = 200, description = "The deployment's MCP tools", body = ToolsView),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn list_tools(_user: AuthUser, State(state): State<AppState>) -> Json<ToolsView> {
    let Some(toolbox) = state.tools.as_ref() else {
        return Json(ToolsView {
            configured: false,
            tools: Vec::new(),
            unavailable: Vec::new(),
        });
    };
    let listing = toolbox.tools().await;
    Json(ToolsView {
        configured: true,
        tools: listing.tools,
        unavailable: listing
            .unavailable
            .into_iter()
            .map(|error| match error {
                ToolError::Unavailable { server, message } => UnavailableServer { server, message },
                other => UnavailableServer {
                    server: String::new(),
                    message: other.to_string(),
                },
            })
            .collect(),
    })
}
