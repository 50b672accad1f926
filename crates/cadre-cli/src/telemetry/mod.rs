//! Tracing set-up for the binary. Logs go to stderr (stdout belongs to the transcript or
//! the `--json` events), human-readable by default, one JSON object per line with
//! `CADRE_LOG_FORMAT=json` ([`json`]: the ids of the enclosing spans — `request_id`,
//! `run_id`, `user_id` — flattened into each line), filtered by `CADRE_LOG`. The default
//! depends on the command: `error` for `run` and `team` (warnings already reach the user
//! as `log` events in the transcript), `info` for the long-running service commands.
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set,
//! Cadre's spans are also exported as OpenTelemetry traces over OTLP/HTTP ([`otlp`]),
//! whatever `CADRE_LOG` says; [`Telemetry::shutdown`] flushes them.

mod json;
mod otlp;

use tracing_subscriber::field::MakeExt;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

/// The installed telemetry; [`Telemetry::shutdown`] flushes pending spans.
#[derive(Debug, Default)]
pub struct Telemetry {
    traces: Option<otlp::Traces>,
}

impl Telemetry {
    /// Exports what is still buffered (bounded by the exporter's timeout).
    pub fn shutdown(self) {
        if let Some(traces) = self.traces {
            traces.shutdown();
        }
    }
}

/// The human format's fields: tracing's `name=value` pairs without the exporter's
/// `otel.*` hints, which only repeat what the span already says.
fn human_fields() -> impl for<'writer> fmt::FormatFields<'writer> + 'static {
    fmt::format::debug_fn(|writer, field, value| {
        let name = field.name();
        if name.starts_with("otel.") {
            Ok(())
        } else if name == "message" {
            write!(writer, "{value:?}")
        } else {
            write!(writer, "{name}={value:?}")
        }
    })
    .delimited(" ")
}

/// Installs the global subscriber. Must run inside the Tokio runtime (the OTLP exporter
/// sends on it). `service` names the process in traces (`cadre-serve`, …) unless
/// `OTEL_SERVICE_NAME` does.
pub fn init(default_filter: &str, service: &str) -> Telemetry {
    let filter =
        EnvFilter::try_from_env("CADRE_LOG").unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("CADRE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let logs = if json {
        fmt::layer()
            .with_writer(std::io::stderr)
            .fmt_fields(fmt::format::JsonFields::new())
            .event_format(json::FlatJson)
            .with_filter(filter)
            .boxed()
    } else {
        fmt::layer()
            .with_writer(std::io::stderr)
            .fmt_fields(human_fields())
            .with_filter(filter)
            .boxed()
    };
    let (traces, spans) = match otlp::Traces::from_env(service) {
        Ok(Some(traces)) => {
            // Cadre's own spans, at info, whatever the log filter says.
            let layer = traces
                .layer()
                .with_filter(Targets::new().with_target("cadre", tracing::Level::INFO));
            (Some(traces), Some(layer))
        }
        Ok(None) => (None, None),
        Err(error) => {
            // Logging is not up yet: say it on stderr, and run without traces.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("warning: OpenTelemetry trace export is off: {error}\n").as_bytes(),
            );
            (None, None)
        }
    };
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init();
    Telemetry { traces }
}
