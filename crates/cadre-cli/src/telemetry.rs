//! Tracing set-up for the CLI: logs go to stderr (stdout belongs to the transcript or the
//! `--json` events), human-readable by default, one JSON object per line with
//! `CADRE_LOG_FORMAT=json`, filtered by `CADRE_LOG`. The default depends on the command: `error` for `run` and
//! `team` (warnings already reach the user as `log` events in the transcript), `info`
//! for the long-running service commands.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber.
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_env("CADRE_LOG").unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("CADRE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
