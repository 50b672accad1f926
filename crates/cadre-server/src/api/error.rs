//! Owns the API's one error type, [`ApiError`], and the one place where error codes map to
//! HTTP statuses ([`ErrorCode`]). Every handler and extractor failure becomes
//! `{"error": {"code", "message", "details"?}}`. Server-side failures (5xx) are logged
//! here, once, with their real cause; the client only gets a generic message so internals
//! (SQL, paths, driver errors) never leak.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cadre_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Declares [`ErrorCode`], one line per code: the variant, its wire name and its HTTP
/// status (meilisearch's `make_error_codes!`), so a code cannot be added without both.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $name:tt => $status:ident;)+) => {
        /// The stable, machine-readable error codes of the API and their HTTP statuses.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ #[serde(rename = $name)] $variant,)+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)+
                }
            }

            /// The HTTP status that goes with the code.
            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)+
                }
            }
        }
    };
}

error_codes! {
    /// Malformed request (bad JSON, bad header, bad cursor).
    BadRequest = "bad_request" => BAD_REQUEST;
    /// Missing or invalid credentials.
    Unauthorized = "unauthorized" => UNAUTHORIZED;
    /// A token request with a wrong password or an invalid refresh token (OAuth2's
    /// `invalid_grant`).
    InvalidGrant = "invalid_grant" => BAD_REQUEST;
    /// Authenticated but not allowed.
    Forbidden = "forbidden" => FORBIDDEN;
    /// No such resource (or not the caller's).
    NotFound = "not_found" => NOT_FOUND;
    /// The method is not supported on this path.
    MethodNotAllowed = "method_not_allowed" => METHOD_NOT_ALLOWED;
    /// The request contradicts the resource's current state.
    Conflict = "conflict" => CONFLICT;
    /// The body exceeds the size limit.
    PayloadTooLarge = "payload_too_large" => PAYLOAD_TOO_LARGE;
    /// The body is not `application/json`.
    UnsupportedMediaType = "unsupported_media_type" => UNSUPPORTED_MEDIA_TYPE;
    /// Well-formed but semantically invalid input.
    ValidationFailed = "validation_failed" => UNPROCESSABLE_ENTITY;
    /// Too many requests.
    RateLimited = "rate_limited" => TOO_MANY_REQUESTS;
    /// A dependency (database) is unavailable; retrying later may help.
    Unavailable = "unavailable" => SERVICE_UNAVAILABLE;
    /// A bug or an unexpected failure on our side.
    Internal = "internal" => INTERNAL_SERVER_ERROR;
}

/// One invalid input field, listed in `details.fields` of a `validation_failed` error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field (dotted path, e.g. `build.max_agents`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The error object inside [`ErrorBody`].
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorObject {
    /// Stable code (`not_found`, `validation_failed`, …).
    pub code: ErrorCode,
    /// Human-readable message.
    pub message: String,
    /// Extra, code-specific information (e.g. `fields` for `validation_failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// The body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorObject,
}

/// An API failure: a code, a client-safe message, optional details, and (for 5xx) the
/// real cause, which is logged and never sent.
#[derive(Debug, Clone)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    details: Option<serde_json::Value>,
    cause: Option<String>,
    retry_after: Option<std::time::Duration>,
}

impl ApiError {
    /// An error with a code and a message the client may see.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            cause: None,
            retry_after: None,
        }
    }

    /// `rate_limited`, with `Retry-After` (whole seconds, at least 1).
    pub fn rate_limited(message: impl Into<String>, retry_after: std::time::Duration) -> Self {
        let mut error = Self::new(ErrorCode::RateLimited, message);
        error.retry_after = Some(retry_after);
        error
    }

    /// Adds details for the client.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// `not_found` for a kind of resource.
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// `validation_failed` listing the offending fields.
    pub fn validation(fields: Vec<FieldError>) -> Self {
        let message = match fields.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", fields.len()),
        };
        Self::new(ErrorCode::ValidationFailed, message)
            .with_details(serde_json::json!({ "fields": fields }))
    }

    /// `internal`: a failure on our side; `cause` is logged, not sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut error = Self::new(ErrorCode::Internal, "internal server error");
        error.cause = Some(cause.to_string());
        error
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The client-visible message.
    /// How long a rate-limited client should wait, if this is a rate limit.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after
    }

    /// The client-facing message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let (message, details) = if status.is_server_error() {
            // Logged here and only here, inside the request span (request_id).
            let cause = self.cause.as_deref().unwrap_or(&self.message);
            tracing::error!(code = self.code.as_str(), %status, cause, "request failed");
            let generic = match self.code {
                ErrorCode::Unavailable => "a dependency is temporarily unavailable; retry later",
                _ => "internal server error",
            };
            (generic.to_string(), None)
        } else {
            (self.message, self.details)
        };
        let body = ErrorBody {
            error: ErrorObject {
                code: self.code,
                message,
                details,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(after) = self.retry_after {
            let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            if let Ok(value) = axum::http::HeaderValue::from_str(&seconds.max(1).to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
        }
        if self.code == ErrorCode::Unauthorized {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { what } => ApiError::not_found(what),
            StoreError::Conflict { what } => ApiError::new(ErrorCode::Conflict, what),
            StoreError::SeqConflict { .. } => {
                ApiError::new(ErrorCode::Conflict, "concurrent update; retry")
            }
            StoreError::Invalid(message) => ApiError::new(ErrorCode::BadRequest, message),
            StoreError::Unavailable(cause) => {
                let mut error = ApiError::new(ErrorCode::Unavailable, "database unavailable");
                error.cause = Some(cause);
                error
            }
            other @ (StoreError::SeqGap { .. } | StoreError::Internal(_)) => {
                ApiError::internal(other)
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let reason = rejection.body_text();
        match rejection {
            JsonRejection::JsonDataError(_) => ApiError::new(
                ErrorCode::ValidationFailed,
                "the body does not match the schema",
            )
            .with_details(serde_json::json!({ "reason": reason })),
            JsonRejection::JsonSyntaxError(_) => {
                ApiError::new(ErrorCode::BadRequest, "the body is not valid JSON")
                    .with_details(serde_json::json!({ "reason": reason }))
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "expected `Content-Type: application/json`",
            ),
            other => match other.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::new(ErrorCode::PayloadTooLarge, "the body is too large")
                }
                status if status.is_server_error() => ApiError::internal(reason),
                _ => ApiError::new(ErrorCode::BadRequest, "cannot read the body")
                    .with_details(serde_json::json!({ "reason": reason })),
            },
        }
    }
}

impl From<axum::extract::rejection::FormRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::FormRejection) -> Self {
        use axum::extract::rejection::FormRejection;
        let reason = rejection.body_text();
        match rejection {
            FormRejection::InvalidFormContentType(_) => ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "expected `Content-Type: application/x-www-form-urlencoded`",
            ),
            FormRejection::FailedToDeserializeForm(_)
            | FormRejection::FailedToDeserializeFormBody(_) => ApiError::new(
                ErrorCode::ValidationFailed,
                "the form does not match the schema",
            )
            .with_details(serde_json::json!({ "reason": reason })),
            other => match other.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::new(ErrorCode::PayloadTooLarge, "the body is too large")
                }
                status if status.is_server_error() => ApiError::internal(reason),
                _ => ApiError::new(ErrorCode::BadRequest, "cannot read the form")
                    .with_details(serde_json::json!({ "reason": reason })),
            },
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(ErrorCode::ValidationFailed, "invalid query parameters")
            .with_details(serde_json::json!({ "reason": rejection.body_text() }))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        if rejection.status().is_server_error() {
            // A route/handler mismatch: our bug, not the client's.
            return ApiError::internal(rejection.body_text());
        }
        ApiError::new(ErrorCode::BadRequest, "invalid path parameter")
            .with_details(serde_json::json!({ "reason": rejection.body_text() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serializes_as_its_wire_name() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
        assert_eq!(ErrorCode::ALL.len(), 13);
    }

    #[test]
    fn store_errors_map_to_statuses() {
        let status = |e: StoreError| ApiError::from(e).code().status().as_u16();
        assert_eq!(status(StoreError::NotFound { what: "run" }), 404);
        assert_eq!(status(StoreError::Conflict { what: "x".into() }), 409);
        assert_eq!(
            status(StoreError::SeqConflict {
                expected: 1,
                got: 1
            }),
            409
        );
        assert_eq!(status(StoreError::Invalid("x".into())), 400);
        assert_eq!(status(StoreError::Unavailable("x".into())), 503);
        assert_eq!(status(StoreError::Internal("x".into())), 500);
        assert_eq!(
            status(StoreError::SeqGap {
                expected: 1,
                got: 3
            }),
            500
        );
    }

    #[test]
    fn validation_lists_fields() {
        let error = ApiError::validation(vec![FieldError::new("task", "must not be empty")]);
        assert_eq!(error.code(), ErrorCode::ValidationFailed);
        assert_eq!(error.message(), "task: must not be empty");
    }
}
