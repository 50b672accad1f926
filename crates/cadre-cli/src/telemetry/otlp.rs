//! OpenTelemetry trace export over OTLP/HTTP (protobuf), configured by the standard
//! `OTEL_EXPORTER_OTLP_*` variables (endpoint, headers, timeout, compression) and
//! `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`, for the spans
//! `cadre_server::telemetry` and the engine open (`invoke_workflow`, `invoke_agent`,
//! `chat`, `execute_tool`, the HTTP requests).
//!
//! The exporter is given [`TokioHttp`], our own client: the SDK's batch processor runs
//! on a thread of its own without a Tokio reactor, and its bundled clients would bring
//! a second reqwest (0.13, blocking) into the build. [`TokioHttp`] sends with the
//! service's reqwest on the service's runtime.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::registry::LookupSpan;

/// Longest one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends the exporter's requests on the Tokio runtime that was current at start-up.
#[derive(Debug, Clone)]
struct TokioHttp {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait]
impl HttpClient for TokioHttp {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let sent = self.runtime.spawn(async move {
            let (parts, body) = request.into_parts();
            let response = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            let mut answer = Response::new(body);
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            Ok::<_, reqwest::Error>(answer)
        });
        match sent.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) => Err(Box::new(error)),
            Err(error) => Err(Box::new(error)),
        }
    }
}

/// The trace pipeline: a batch processor feeding the OTLP exporter.
#[derive(Debug)]
pub struct Traces {
    provider: SdkTracerProvider,
}

/// Why tracing could not be set up (the endpoint or another setting is invalid).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TracesError(String);

impl Traces {
    /// The pipeline the environment asks for; `None` when no OTLP endpoint is set.
    pub fn from_env(service: &str) -> Result<Option<Self>, TracesError> {
        let configured = [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()));
        if !configured {
            return Ok(None);
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|error| TracesError(format!("no async runtime: {error}")))?;
        let client = reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|error| TracesError(format!("cannot build the HTTP client: {error}")))?;
        let exporter = SpanExporter::builder()
            .with_http()
            .with_http_client(TokioHttp { client, runtime })
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|error| TracesError(error.to_string()))?;
        let mut resource = Resource::builder();
        if std::env::var("OTEL_SERVICE_NAME").is_err() {
            resource = resource.with_service_name(service.to_owned());
        }
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                resource
                    .with_attribute(opentelemetry::KeyValue::new(
                        "service.version",
                        env!("CARGO_PKG_VERSION"),
                    ))
                    .build(),
            )
            .build();
        Ok(Some(Self { provider }))
    }

    /// The tracing layer that turns spans into OpenTelemetry spans.
    pub fn layer<S>(&self) -> impl tracing_subscriber::Layer<S> + use<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("cadre"))
            .with_tracked_inactivity(false)
    }

    /// Flushes and stops the pipeline.
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::warn!(%error, "OpenTelemetry trace export did not shut down cleanly");
        }
    }
}
