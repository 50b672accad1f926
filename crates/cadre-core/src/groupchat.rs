//! PLACEHOLDER
/// Placeholder.
pub struct GroupChat;
/// Placeholder.
pub struct ChatOutcome;
/// Placeholder.
pub struct RunContext;
