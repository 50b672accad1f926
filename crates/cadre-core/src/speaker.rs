//! Next-speaker strategies (AutoGen's `speaker_selection_method`): `auto` asks the model,
//! `round_robin` and `random` need no model, `manual` asks a human, `graph` restricts who
//! may follow whom. Model and human answers are validated; an unusable answer is re-asked
//! a bounded number of times, then a deterministic fallback (round robin) decides.

use tokio_util::sync::CancellationToken;

use crate::event::{EventKind, LogLevel, RunEmitter, RunStatus, SinkError};
use crate::input::{InputError, InputSource};
use crate::message::{ChatMessage, TranscriptMessage};
use crate::model::{ChatModel, ChatRequest, ModelError, Purpose, Usage};
use crate::team::{SpeakerSelection, TeamSpec};

/// How many times an invalid model or human answer is re-asked before falling back.
pub const MAX_SELECTION_RETRIES: u32 = 2;
/// How many recent turns the selection prompt shows the model.
const SELECTION_HISTORY: usize = 12;
/// How much of each turn the selection prompt shows (selection needs the gist, not the
/// whole of a long code listing).
const SELECTION_TURN_CHARS: usize = 1_500;

/// The chosen speaker.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Agent name.
    pub agent: String,
    /// Why it was chosen, for the `speaker` event.
    pub reason: String,
    /// Model calls the selection made (model name, usage), to be accounted.
    pub usage: Vec<(String, Usage)>,
}

/// Why no speaker could be chosen.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SelectError {
    /// The run was cancelled while choosing.
    #[error("cancelled")]
    Cancelled,
    /// Events could not be delivered.
    #[error(transparent)]
    Sink(#[from] SinkError),
}

/// Everything a strategy may look at.
pub struct SelectionInput<'a> {
    /// The team.
    pub team: &'a TeamSpec,
    /// The conversation so far (never empty: the task comes first).
    pub transcript: &'a [TranscriptMessage],
    /// Whether the last turn left code for the executor to run.
    pub code_pending: bool,
    /// The model `auto` asks.
    pub model: &'a dyn ChatModel,
    /// The human `manual` asks.
    pub input: &'a dyn InputSource,
    /// Event output.
    pub emitter: &'a RunEmitter,
    /// Cancellation of the run.
    pub cancel: &'a CancellationToken,
}

/// Picks the next speaker; holds the seeded generator of the `random` strategy.
pub struct SpeakerSelector {
    rng: fastrand::Rng,
}

impl SpeakerSelector {
    /// A selector for `strategy`.
    pub fn new(strategy: &SpeakerSelection) -> Self {
        let rng = match strategy {
            SpeakerSelection::Random { seed: Some(seed) } => fastrand::Rng::with_seed(*seed),
            _ => fastrand::Rng::new(),
        };
        Self { rng }
    }

    /// Chooses who speaks next.
    pub async fn select(&mut self, input: SelectionInput<'_>) -> Result<Selection, SelectError> {
        let team = input.team;
        let participants = team.participants();
        let last = input
            .transcript
            .last()
            .map(|m| m.agent.as_str())
            .unwrap_or(&team.admin_name);
        let executor = team
            .code_execution
            .enabled
            .then_some(team.code_execution.executor_name.as_str());
        let selection = |agent: &str, reason: &str| Selection {
            agent: agent.to_string(),
            reason: reason.to_string(),
            usage: vec![],
        };

        match &team.speaker_selection {
            SpeakerSelection::RoundRobin => Ok(selection(
                &round_robin_next(&participants, last),
                "round_robin",
            )),
            SpeakerSelection::Random { .. } => {
                let index = self.rng.usize(..participants.len().max(1));
                Ok(selection(
                    participants
                        .get(index)
                        .map(String::as_str)
                        .unwrap_or_default(),
                    "random",
                ))
            }
            SpeakerSelection::Manual => manual(&input, &participants, last).await,
            SpeakerSelection::Auto => {
                if let (true, Some(executor)) = (input.code_pending, executor) {
                    return Ok(selection(executor, "code to execute"));
                }
                // The executor only has something to do when code is pending; offering it
                // otherwise wastes turns on "no code to run" replies.
                let candidates: Vec<String> = participants
                    .iter()
                    .filter(|p| Some(p.as_str()) != executor)
                    .cloned()
                    .collect();
                auto(&input, &candidates, last).await
            }
            SpeakerSelection::Graph { transitions } => {
                let candidates = transitions
                    .get(last)
                    .cloned()
                    .unwrap_or_else(|| participants.clone());
                if let (true, Some(executor)) = (input.code_pending, executor)
                    && candidates.iter().any(|c| c == executor)
                {
                    return Ok(selection(executor, "graph: code to execute"));
                }
                match candidates.as_slice() {
                    [] => Ok(selection(
                        &round_robin_next(&participants, last),
                        "graph: no transition, round robin",
                    )),
                    [only] => Ok(selection(only, "graph: only allowed transition")),
                    _ => auto(&input, &candidates, last).await,
                }
            }
        }
    }
}

/// The participant after `last` in order; the first one after the admin or an unknown name.
pub fn round_robin_next(participants: &[String], last: &str) -> String {
    let next = participants
        .iter()
        .position(|p| p == last)
        .map_or(0, |i| (i + 1) % participants.len().max(1));
    participants.get(next).cloned().unwrap_or_default()
}

/// The single candidate named in `answer`: an exact answer, or exactly one name mentioned.
pub fn match_candidate(answer: &str, candidates: &[String]) -> Result<String, String> {
    let trimmed = answer
        .trim()
        .trim_matches(|c: char| c == '"' || c == '\'' || c == '`' || c == '*' || c == '.');
    if let Some(exact) = candidates.iter().find(|c| c.eq_ignore_ascii_case(trimmed)) {
        return Ok(exact.clone());
    }
    let lower = answer.to_ascii_lowercase();
    let mentioned: Vec<&String> = candidates
        .iter()
        .filter(|c| mentions_word(&lower, &c.to_ascii_lowercase()))
        .collect();
    match mentioned.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!(
            "`{}` is not one of the participants",
            truncate(answer.trim(), 80)
        )),
        many => Err(format!(
            "the answer names {} participants ({}); name exactly one",
            many.len(),
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn mentions_word(haystack: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    haystack.match_indices(word).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + word.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

async fn auto(
    input: &SelectionInput<'_>,
    candidates: &[String],
    last: &str,
) -> Result<Selection, SelectError> {
    if let [only] = candidates {
        return Ok(Selection {
            agent: only.clone(),
            reason: "only candidate".into(),
            usage: vec![],
        });
    }
    let roles: String = candidates
        .iter()
        .map(|name| {
            let description = input
                .team
                .agent(name)
                .map(|a| a.description.as_str())
                .unwrap_or("runs code blocks and reports their output");
            format!("- {name}: {description}\n")
        })
        .collect();
    let list = candidates.join(", ");
    let mut messages = vec![ChatMessage::system(format!(
        "You coordinate a group chat working on a task. The participants are:\n{roles}\n\
         Read the conversation, then decide who should speak next to move the task forward. \
         Answer with exactly one name from [{list}] and nothing else."
    ))];
    let start = input.transcript.len().saturating_sub(SELECTION_HISTORY);
    for turn in &input.transcript[start..] {
        messages.push(
            ChatMessage::user(truncate(&turn.content, SELECTION_TURN_CHARS))
                .named(turn.agent.clone()),
        );
    }
    messages.push(ChatMessage::user(format!(
        "Who speaks next? Answer with one name from [{list}]."
    )));

    let mut usage = Vec::new();
    let mut problem = String::new();
    for attempt in 0..=MAX_SELECTION_RETRIES {
        let mut request = ChatRequest::new(
            Purpose::SelectSpeaker {
                candidates: candidates.to_vec(),
            },
            messages.clone(),
        );
        request.model = input.team.default_model.clone();
        request.temperature = Some(0.0);
        let response = match input.model.chat(request, &mut |_| {}, input.cancel).await {
            Ok(response) => response,
            Err(ModelError::Cancelled) => return Err(SelectError::Cancelled),
            Err(error) => {
                problem = error.to_string();
                break;
            }
        };
        usage.push((response.model.clone(), response.usage));
        match match_candidate(&response.content, candidates) {
            Ok(agent) => {
                let reason = if attempt == 0 {
                    "auto".to_string()
                } else {
                    format!("auto (after {attempt} re-asks)")
                };
                return Ok(Selection {
                    agent,
                    reason,
                    usage,
                });
            }
            Err(why) => {
                problem = why.clone();
                messages.push(ChatMessage::assistant(response.content));
                messages.push(ChatMessage::user(format!(
                    "That answer cannot be used: {why}. Reply with exactly one of: {list}."
                )));
            }
        }
    }
    let agent = round_robin_next(candidates, last);
    input
        .emitter
        .emit(EventKind::Log {
            level: LogLevel::Warn,
            message: format!("speaker selection fell back to round robin: {problem}"),
        })
        .await?;
    Ok(Selection {
        agent,
        reason: format!("fallback (round robin): {problem}"),
        usage,
    })
}

async fn manual(
    input: &SelectionInput<'_>,
    participants: &[String],
    last: &str,
) -> Result<Selection, SelectError> {
    let menu: String = participants
        .iter()
        .enumerate()
        .map(|(i, p)| format!("  {}. {p}\n", i + 1))
        .collect();
    let mut prompt = format!("Who speaks next?\n{menu}Enter a number or a name:");
    for _ in 0..=MAX_SELECTION_RETRIES {
        input
            .emitter
            .emit(EventKind::Status {
                status: RunStatus::WaitingInput,
            })
            .await?;
        input
            .emitter
            .emit(EventKind::InputRequest {
                prompt: prompt.clone(),
                options: participants.to_vec(),
                agent: None,
                timeout_secs: None,
                default: None,
            })
            .await?;
        let answer = input.input.ask(&prompt, input.cancel).await;
        input
            .emitter
            .emit(EventKind::Status {
                status: RunStatus::Executing,
            })
            .await?;
        let answer = match answer {
            Ok(answer) => answer,
            Err(InputError::Cancelled) => return Err(SelectError::Cancelled),
            Err(InputError::Unavailable(why)) => {
                input
                    .emitter
                    .emit(EventKind::Log {
                        level: LogLevel::Warn,
                        message: format!("manual selection unavailable ({why}); using round robin"),
                    })
                    .await?;
                return Ok(Selection {
                    agent: round_robin_next(participants, last),
                    reason: "fallback (round robin): no input".into(),
                    usage: vec![],
                });
            }
        };
        input
            .emitter
            .emit(EventKind::Input {
                content: answer.clone(),
            })
            .await?;
        let by_number = answer
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| participants.get(i).cloned());
        match by_number
            .map(Ok)
            .unwrap_or_else(|| match_candidate(&answer, participants))
        {
            Ok(agent) => {
                return Ok(Selection {
                    agent,
                    reason: "manual".into(),
                    usage: vec![],
                });
            }
            Err(why) => {
                prompt = format!("{why}.\nWho speaks next?\n{menu}Enter a number or a name:")
            }
        }
    }
    Ok(Selection {
        agent: round_robin_next(participants, last),
        reason: "fallback (round robin): no valid choice".into(),
        usage: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn round_robin_wraps_and_starts_after_admin() {
        let p = names(&["A", "B", "C"]);
        assert_eq!(round_robin_next(&p, "User"), "A");
        assert_eq!(round_robin_next(&p, "A"), "B");
        assert_eq!(round_robin_next(&p, "C"), "A");
    }

    #[test]
    fn answers_are_matched_strictly() {
        let p = names(&["Planner", "Coder", "Critic"]);
        assert_eq!(match_candidate("Coder", &p), Ok("Coder".into()));
        assert_eq!(match_candidate(" `critic`. ", &p), Ok("Critic".into()));
        assert_eq!(
            match_candidate("I think the Planner should go next.", &p),
            Ok("Planner".into())
        );
        assert!(
            match_candidate("Planner or Coder", &p)
                .unwrap_err()
                .contains("2 participants")
        );
        assert!(match_candidate("nobody", &p).is_err());
        // A name inside another word is not a mention.
        assert!(match_candidate("Coders unite", &p).is_err());
    }
}
