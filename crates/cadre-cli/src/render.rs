//! Terminal output of a run. [`Transcript`] prints a readable live transcript (agent
//! names coloured, tokens as they stream, code and its results, a spinner while the team
//! waits on a model or the sandbox). [`JsonLines`] prints each event as one JSON object per
//! line and nothing else. Both are [`EventSink`]s fed by the engine.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use cadre_core::event::{
    EventKind, EventSink, LogLevel, RunEvent, RunStatus, SinkError, UsageTotals,
};
use console::{Style, style};
use indicatif::{ProgressBar, ProgressStyle};

/// Prints each event as a JSON line on stdout.
pub struct JsonLines;

#[async_trait]
impl EventSink for JsonLines {
    async fn publish(&self, event: &RunEvent) -> Result<(), SinkError> {
        let line = serde_json::to_string(event).map_err(|e| SinkError(e.to_string()))?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(|e| SinkError(format!("cannot write to stdout: {e}")))
    }
}

/// The human-readable live transcript.
pub struct Transcript {
    state: Mutex<TranscriptState>,
}

#[derive(Default)]
struct TranscriptState {
    /// Message currently being streamed, so the final `message` is not printed twice.
    streaming: Option<String>,
    colours: HashMap<String, Style>,
    spinner: Option<ProgressBar>,
    /// Set while a human is being asked, so the pause and resume are not announced around
    /// every prompt.
    waiting: bool,
}

const PALETTE: [fn(Style) -> Style; 6] = [
    Style::cyan,
    Style::magenta,
    Style::green,
    Style::yellow,
    Style::blue,
    Style::red,
];

impl Transcript {
    /// A transcript printer on stdout (spinner on stderr).
    pub fn new() -> Self {
        Self {
            state: Mutex::new(TranscriptState::default()),
        }
    }
}

impl TranscriptState {
    fn name(&mut self, agent: &str) -> String {
        let next = self.colours.len();
        let style = self
            .colours
            .entry(agent.to_string())
            .or_insert_with(|| PALETTE[next % PALETTE.len()](Style::new().bold()));
        style.apply_to(agent).to_string()
    }

    fn spin(&mut self, message: String) {
        self.stop_spinner();
        let spinner = ProgressBar::new_spinner();
        if let Ok(template) = ProgressStyle::with_template("{spinner} {msg}") {
            spinner.set_style(template);
        }
        spinner.set_message(message);
        spinner.enable_steady_tick(Duration::from_millis(100));
        self.spinner = Some(spinner);
    }

    fn stop_spinner(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }

    fn render(&mut self, kind: &EventKind) -> String {
        if !matches!(kind, EventKind::MessageDelta { .. }) {
            self.stop_spinner();
        }
        match kind {
            // The final status is shown by `finished`, with its reason and usage; the pause
            // for input is shown by the prompt itself.
            EventKind::Status { status } if status.is_terminal() => String::new(),
            EventKind::Status {
                status: RunStatus::WaitingInput,
            } => {
                self.waiting = true;
                String::new()
            }
            EventKind::Status { .. } if self.waiting => {
                self.waiting = false;
                String::new()
            }
            EventKind::Status { status } => {
                format!("{}\n", style(format!("── {}", status.as_str())).dim())
            }
            EventKind::Team { team } => {
                let mut out = format!("{} {}\n", style("Team:").bold(), team.name);
                for agent in &team.agents {
                    let name = self.name(&agent.name);
                    out.push_str(&format!("  • {name} — {}\n", agent.description));
                }
                if team.code_execution.enabled {
                    let name = self.name(&team.code_execution.executor_name);
                    out.push_str(&format!("  • {name} — runs code blocks in the sandbox\n"));
                }
                out
            }
            EventKind::Speaker { agent, .. } => {
                let name = self.name(agent);
                self.spin(format!("{name} is thinking…"));
                String::new()
            }
            EventKind::MessageDelta {
                message_id,
                agent,
                delta,
            } => {
                let mut out = String::new();
                if self.streaming.as_deref() != Some(message_id) {
                    self.stop_spinner();
                    out = format!("\n{}:\n", self.name(agent));
                    self.streaming = Some(message_id.clone());
                }
                out.push_str(delta);
                out
            }
            EventKind::Message {
                message_id,
                agent,
                content,
                ..
            } => {
                if self.streaming.take().as_deref() == Some(message_id) {
                    "\n".to_string()
                } else {
                    format!("\n{}:\n{}\n", self.name(agent), content)
                }
            }
            EventKind::Code { language, .. } => {
                self.spin(format!("running {language} code in the sandbox…"));
                String::new()
            }
            EventKind::CodeResult {
                exit_code,
                duration_ms,
                timed_out,
                files,
                ..
            } => {
                let verdict = if *timed_out {
                    style("timed out".to_string()).red()
                } else if *exit_code == 0 {
                    style(format!("exit {exit_code}")).green()
                } else {
                    style(format!("exit {exit_code}")).red()
                };
                // The CLI keeps no artifacts (the workspace goes with the run): name them
                // so the user knows what the code produced.
                let wrote = if files.is_empty() {
                    String::new()
                } else {
                    let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
                    format!("; wrote {}", names.join(", "))
                };
                format!(
                    "{}\n",
                    style(format!(
                        "   ↳ code ran: {verdict} in {duration_ms} ms{wrote}"
                    ))
                    .dim()
                )
            }
            EventKind::ToolCall {
                tool, arguments, ..
            } => {
                self.stop_spinner();
                format!(
                    "{}\n",
                    style(format!("   ↳ calls {tool}({arguments})")).dim()
                )
            }
            EventKind::ToolResult {
                tool,
                content,
                is_error,
                refused,
                duration_ms,
                ..
            } => {
                let first_line = content.lines().next().unwrap_or_default();
                let line = if *refused {
                    style(format!("   ↳ {tool} refused: {first_line}")).yellow()
                } else if *is_error {
                    style(format!(
                        "   ↳ {tool} failed in {duration_ms} ms: {first_line}"
                    ))
                    .red()
                } else {
                    style(format!(
                        "   ↳ {tool} answered in {duration_ms} ms: {first_line}"
                    ))
                    .dim()
                };
                format!("{line}\n")
            }
            EventKind::Usage { .. } => String::new(),
            EventKind::InputRequest { prompt, .. } => format!("\n{}\n> ", style(prompt).bold()),
            EventKind::Input { .. } => String::new(),
            EventKind::Log { level, message } => match level {
                LogLevel::Info => format!("{}\n", style(format!("note: {message}")).dim()),
                LogLevel::Warn => format!("{}\n", style(format!("warning: {message}")).yellow()),
            },
            EventKind::Error { code, message, .. } => {
                format!("{}\n", style(format!("error [{code}]: {message}")).red())
            }
            EventKind::Finished {
                status,
                reason,
                usage,
                ..
            } => {
                format!(
                    "{}\n",
                    style(format!(
                        "── {} ({reason}) · {}",
                        status.as_str(),
                        usage_line(usage)
                    ))
                    .bold()
                )
            }
        }
    }
}

/// `5 model calls · 1200 prompt + 300 completion tokens · $0.0021`.
pub fn usage_line(usage: &UsageTotals) -> String {
    format!(
        "{} model calls · {} prompt + {} completion tokens · ${:.4}",
        usage.calls, usage.prompt_tokens, usage.completion_tokens, usage.cost_usd
    )
}

#[async_trait]
impl EventSink for Transcript {
    async fn publish(&self, event: &RunEvent) -> Result<(), SinkError> {
        let text = match self.state.lock() {
            Ok(mut state) => state.render(&event.kind),
            Err(poisoned) => poisoned.into_inner().render(&event.kind),
        };
        if text.is_empty() {
            return Ok(());
        }
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| SinkError(format!("cannot write to stdout: {e}")))
    }
}
