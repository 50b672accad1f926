//! End conditions of a group chat (AutoGen's termination conditions): what is checked,
//! and why a chat stopped.

use serde::{Deserialize, Serialize};

use crate::event::{RunStatus, UsageTotals};
use crate::team::Termination;

/// Why a chat ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// An agent said the termination text.
    TextMention,
    /// `max_round` turns happened.
    MaxRound,
    /// The token budget was used up.
    TokenBudget,
    /// The cost budget was used up.
    CostBudget,
    /// The wall-clock limit passed.
    Timeout,
    /// The user cancelled.
    Cancelled,
    /// A step failed (model, sandbox, input).
    Error,
    /// Only the team was requested.
    BuildOnly,
}

impl StopReason {
    /// The run status a chat ending this way has.
    pub fn status(self) -> RunStatus {
        match self {
            StopReason::TextMention
            | StopReason::MaxRound
            | StopReason::TokenBudget
            | StopReason::CostBudget
            | StopReason::BuildOnly => RunStatus::Completed,
            StopReason::Timeout | StopReason::Error => RunStatus::Failed,
            StopReason::Cancelled => RunStatus::Cancelled,
        }
    }

    /// Wire name (`text_mention`, `max_round`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::TextMention => "text_mention",
            StopReason::MaxRound => "max_round",
            StopReason::TokenBudget => "token_budget",
            StopReason::CostBudget => "cost_budget",
            StopReason::Timeout => "timeout",
            StopReason::Cancelled => "cancelled",
            StopReason::Error => "error",
            StopReason::BuildOnly => "build_only",
        }
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `content` contains the termination text.
pub fn mentions_termination(spec: &Termination, content: &str) -> bool {
    spec.text_mention
        .as_deref()
        .is_some_and(|text| !text.is_empty() && content.contains(text))
}

/// The budget or round limit reached after `rounds` turns with `usage` spent, if any.
/// Checked before each turn, so a limit stops the chat before it is exceeded further.
pub fn limit_reached(spec: &Termination, rounds: usize, usage: &UsageTotals) -> Option<StopReason> {
    if spec.max_round.is_some_and(|max| rounds >= max as usize) {
        return Some(StopReason::MaxRound);
    }
    if spec
        .max_tokens
        .is_some_and(|max| usage.total_tokens() >= max)
    {
        return Some(StopReason::TokenBudget);
    }
    if spec.max_cost_usd.is_some_and(|max| usage.cost_usd >= max) {
        return Some(StopReason::CostBudget);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_mention_uses_configured_text() {
        let mut spec = Termination::default();
        assert!(mentions_termination(&spec, "All done. TERMINATE"));
        assert!(!mentions_termination(&spec, "keep going"));
        spec.text_mention = Some("DONE!".into());
        assert!(mentions_termination(&spec, "DONE!"));
        assert!(!mentions_termination(&spec, "TERMINATE"));
        spec.text_mention = None;
        assert!(!mentions_termination(&spec, "TERMINATE"));
    }

    #[test]
    fn limits_in_any_combination() {
        let spec = Termination {
            max_round: Some(5),
            max_tokens: Some(100),
            max_cost_usd: Some(0.5),
            ..Termination::default()
        };
        let mut usage = UsageTotals::default();
        assert_eq!(limit_reached(&spec, 4, &usage), None);
        assert_eq!(limit_reached(&spec, 5, &usage), Some(StopReason::MaxRound));
        usage.prompt_tokens = 60;
        usage.completion_tokens = 40;
        assert_eq!(
            limit_reached(&spec, 1, &usage),
            Some(StopReason::TokenBudget)
        );
        usage.prompt_tokens = 0;
        usage.cost_usd = 0.5;
        assert_eq!(
            limit_reached(&spec, 1, &usage),
            Some(StopReason::CostBudget)
        );
        let none = Termination {
            max_round: None,
            ..Termination::default()
        };
        assert_eq!(limit_reached(&none, 10_000, &usage), None);
    }
}
