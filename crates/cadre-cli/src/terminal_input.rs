//! Human input from the terminal (manual speaker selection): reads one line from stdin
//! on a blocking thread, so that cancellation (Ctrl-C) still ends the wait.

use async_trait::async_trait;
use cadre_core::input::{InputError, InputSource};
use tokio_util::sync::CancellationToken;

/// Reads answers from standard input.
pub struct TerminalInput;

#[async_trait]
impl InputSource for TerminalInput {
    async fn ask(&self, _prompt: &str, cancel: &CancellationToken) -> Result<String, InputError> {
        // The prompt itself is printed by the transcript renderer from the input_request
        // event, so that it appears in order with the rest of the run.
        let read = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            match std::io::stdin().read_line(&mut line) {
                Ok(0) => Err(InputError::Unavailable("standard input is closed".into())),
                Ok(_) => Ok(line.trim().to_string()),
                Err(error) => Err(InputError::Unavailable(error.to_string())),
            }
        });
        tokio::select! {
            () = cancel.cancelled() => Err(InputError::Cancelled),
            answer = read => answer.unwrap_or_else(|e| Err(InputError::Unavailable(e.to_string()))),
        }
    }
}
