//! Owns `GET /api/v1/runs/{id}/files` and `GET /api/v1/runs/{id}/files/{path}`: the files
//! a run's code blocks wrote (artifacts), as kept in the database by the worker.
//!
//! The bytes come from generated code, so they are hostile: they are served with the
//! stored media type, `nosniff`, and a `sandbox` Content Security Policy (no script runs
//! in this origin even if a browser renders the file), and as an attachment except for
//! raster images, which the UI shows inline. SVG and HTML, which can carry script, are
//! never inline.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cadre_store::{RunFileRecord, valid_file_path};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::auth::AuthUser;
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::extract::ApiPath;

/// The policy of every file response: a sandboxed document that may load nothing, so
/// even a file a browser renders (HTML opened from the downloads list) runs no script
/// with this origin's cookies or storage.
pub const FILE_CONTENT_SECURITY_POLICY: &str = "sandbox; default-src 'none'";

/// Media types a browser may show inline: raster images, which cannot run script.
const INLINE_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// One kept file of a run.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunFileView {
    /// Path relative to the run's workspace (`plots/fib.png`).
    pub path: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Media type, guessed from the extension.
    pub content_type: String,
    /// SHA-256 of the content, lower-case hex (also the download's `ETag`).
    pub sha256: String,
    /// When this version was written (a later block writing the same path replaces it).
    pub created_at: DateTime<Utc>,
}

impl From<RunFileRecord> for RunFileView {
    fn from(record: RunFileRecord) -> Self {
        Self {
            path: record.path,
            size_bytes: record.size_bytes,
            content_type: record.content_type,
            sha256: record.sha256,
            created_at: record.created_at,
        }
    }
}

/// The kept files of a run, by path.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunFileList {
    /// The files.
    pub files: Vec<RunFileView>,
}

/// The file routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/runs/{id}/files", get(list_files))
        .route("/api/v1/runs/{id}/files/{*path}", get(download_file))
}

/// The files a run's code wrote and that were kept (see each `code_result` event's
/// `files` for those that were not).
#[utoipa::path(get, path = "/api/v1/runs/{id}/files", tag = "runs",
    params(("id" = Uuid, Path, description = "Run id")),
    responses(
        (status = 200, description = "The run's kept files, by path", body = RunFileList),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody),
    ))]
pub async fn list_files(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RunFileList>, ApiError> {
    let files = state.store.list_run_files(user.id, id).await?;
    Ok(Json(RunFileList {
        files: files.into_iter().map(RunFileView::from).collect(),
    }))
}

/// One kept file's bytes. Raster images (PNG, JPEG, GIF, WebP) are `inline`; everything
/// else, SVG and HTML included, is an `attachment`; every file is served `nosniff` under
/// a `sandbox` Content Security Policy.
#[utoipa::path(get, path = "/api/v1/runs/{id}/files/{path}", tag = "runs",
    params(
        ("id" = Uuid, Path, description = "Run id"),
        ("path" = String, Path, description = "The file's path in the run's workspace; may contain `/`"),
    ),
    responses(
        (status = 200, description = "The file, with its stored media type",
            content((Vec<u8> = "application/octet-stream")),
            headers(
                ("Content-Disposition" = String, description = "`inline` for raster images, else `attachment`, with the file's name"),
                ("ETag" = String, description = "The content's SHA-256"),
                ("Content-Security-Policy" = String, description = "`sandbox; default-src 'none'`"),
            )),
        (status = 304, description = "Not modified (`If-None-Match` matched the `ETag`)"),
        (status = 400, description = "Malformed id or path (absolute, `..`, backslash, NUL)", body = ErrorBody),
        (status = 404, description = "No such run or file", body = ErrorBody),
    ))]
pub async fn download_file(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, path)): ApiPath<(Uuid, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !valid_file_path(&path) {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "the file path must be relative, without `..`, `.`, empty parts, backslashes or NUL",
        ));
    }
    let (record, content) = state.store.get_run_file(user.id, id, &path).await?;
    let etag = format!("\"{}\"", record.sha256);
    let mut response = if if_none_match(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        content.into_response()
    };
    let out = response.headers_mut();
    let content_type = HeaderValue::from_str(&record.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let inline = INLINE_TYPES.contains(&record.content_type.as_str());
    out.insert(header::CONTENT_TYPE, content_type);
    out.insert(
        header::CONTENT_DISPOSITION,
        content_disposition(&record.path, inline),
    );
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(FILE_CONTENT_SECURITY_POLICY),
    );
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A later block may replace the file: revalidate every time (cheap with the ETag).
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, value);
    }
    Ok(response)
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|candidate| {
            let candidate = candidate.trim();
            candidate == "*" || candidate.trim_start_matches("W/") == etag
        })
}

/// `inline` or `attachment` with the file's name: an ASCII fallback (`filename=`, with
/// anything unusual replaced by `_`) and the exact name (`filename*=`, RFC 6266/5987).
fn content_disposition(path: &str, inline: bool) -> HeaderValue {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    let kind = if inline { "inline" } else { "attachment" };
    HeaderValue::from_str(&format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn dispositions_name_the_file_safely() {
        assert_eq!(
            content_disposition("plots/fib.png", true),
            "inline; filename=\"fib.png\"; filename*=UTF-8''fib.png"
        );
        assert_eq!(
            content_disposition("a\"b;c é.csv", false),
            "attachment; filename=\"a_b_c _.csv\"; filename*=UTF-8''a%22b%3Bc%20%C3%A9.csv"
        );
    }

    #[test]
    fn etags_match_weakly_and_in_lists() {
        let mut headers = HeaderMap::new();
        assert!(!if_none_match(&headers, "\"abc\""));
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc\""),
        );
        assert!(if_none_match(&headers, "\"abc\""));
        assert!(!if_none_match(&headers, "\"abd\""));
    }
}
