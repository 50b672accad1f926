//! [`TeamBuilder`]: designs a team for a task with a model, following AutoGen's
//! AgentBuilder flow (expert names, a system message and a description per expert, a
//! coding decision), and picks teams from a library of saved agents.
//!
//! Unlike AutoGen, the per-agent calls run concurrently, so a build costs about three
//! model round-trips whatever the team size: names; then system messages (each followed
//! by its description) alongside the coding decision. Every answer is parsed leniently
//! ([`crate::lenient`]); an unusable one is re-asked with the parse error, a bounded
//! number of times.
//!
//! The chat mechanics (group chat etiquette, code blocks, `TERMINATE`) are appended to
//! each system message by the builder rather than left to the model, so they are always
//! present and match what the group chat actually does.

use std::sync::Arc;

use futures::future::try_join_all;
use tokio_util::sync::CancellationToken;

use crate::event::{EventKind, LogLevel, RunEmitter, UsageTotals};
use crate::lenient::{normalize_name, parse_name_list, parse_yes_no};
use crate::message::ChatMessage;
use crate::model::{ChatModel, ChatRequest, ModelError, Purpose};
use crate::team::{
    AgentSpec, DEFAULT_ADMIN_NAME, DEFAULT_EXECUTOR_NAME, DEFAULT_TERMINATION_TEXT, TeamError,
    TeamSpec,
};

/// Options of one build.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildOptions {
    /// Most experts the team may have (the executor is not counted).
    pub max_agents: usize,
    /// Force code execution on or off; `None` lets the model decide.
    pub coding: Option<bool>,
    /// Model for the builder's calls (and the team's default model).
    pub model: Option<String>,
    /// How many times malformed output is re-asked before the build fails.
    pub max_parse_retries: u32,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            max_agents: 4,
            coding: None,
            model: None,
            max_parse_retries: 2,
        }
    }
}

/// Why a team could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    /// The model call failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model's output stayed unusable after the retries.
    #[error("team builder could not parse the model's {step} after {attempts} attempts: {detail}")]
    Malformed {
        /// Which step (`agent names`, `system message for X`, …).
        step: String,
        /// Attempts made.
        attempts: u32,
        /// Last parse error.
        detail: String,
    },
    /// Events could not be delivered.
    #[error(transparent)]
    Sink(#[from] crate::event::SinkError),
    /// The resulting team does not validate (or the library to pick from is empty).
    #[error("team builder produced an unusable team: {0}")]
    Team(#[from] TeamError),
}

/// A built team and what building it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildOutcome {
    /// The team.
    pub team: TeamSpec,
    /// Usage of the builder's calls.
    pub usage: UsageTotals,
}

/// Designs teams with a model.
pub struct TeamBuilder {
    model: Arc<dyn ChatModel>,
    options: BuildOptions,
}

/// Frames every builder call; the per-step instructions go in the user message.
const ARCHITECT_PROMPT: &str = "You are a team architect. You design small teams of AI \
experts that solve a task together by talking in a group chat. Follow the requested reply \
format exactly and add nothing else.";

/// What a system-message answer must look like, repeated on retries.
const SYSTEM_MESSAGE_FORMAT: &str =
    "Reply with only the system message text, addressed to the expert as \"you\".";
/// What a description answer must look like, repeated on retries.
const DESCRIPTION_FORMAT: &str = "Reply with exactly one sentence and nothing else.";
/// What a coding answer must look like, repeated on retries.
const CODING_FORMAT: &str = "Reply with exactly one word: YES or NO.";

/// One builder question: what is asked, and what a usable answer looks like.
struct Question {
    /// Step name for logs and errors (`system message for Coder`).
    step: String,
    /// Label of the model call.
    purpose: Purpose,
    /// The user message.
    prompt: String,
    /// The reply-format instruction, repeated when an answer is re-asked.
    expected: String,
}

/// A parsed answer and the usage of the calls it took.
type Asked<T> = (T, UsageTotals);

impl TeamBuilder {
    /// A builder that asks `model`.
    pub fn new(model: Arc<dyn ChatModel>, options: BuildOptions) -> Self {
        Self { model, options }
    }

    /// The options the builder was made with.
    pub fn options(&self) -> &BuildOptions {
        &self.options
    }

    /// Builds a team for `task`, emitting a `usage` event per model call (and `log` events
    /// for retried output) through `emitter`.
    pub async fn build(
        &self,
        task: &str,
        emitter: &RunEmitter,
        cancel: &CancellationToken,
    ) -> Result<BuildOutcome, BuildError> {
        let max = self.options.max_agents.max(1);
        let (mut names, mut usage) = self
            .ask(
                Question {
                    step: "agent names".into(),
                    purpose: Purpose::BuildAgentNames,
                    prompt: names_prompt(task, max),
                    expected: names_format(max, &["Data_Analyst", "Python_Developer"]),
                },
                parse_expert_names,
                emitter,
                cancel,
            )
            .await?;
        if names.len() > max {
            emitter
                .emit(EventKind::Log {
                    level: LogLevel::Info,
                    message: format!(
                        "team builder: the model proposed {} experts; keeping the first {max}",
                        names.len()
                    ),
                })
                .await?;
            names.truncate(max);
        }

        let agents = try_join_all(
            names
                .iter()
                .map(|name| self.design_agent(task, name, &names, emitter, cancel)),
        );
        let coding = self.decide_coding(task, emitter, cancel);
        let (agents, (coding, coding_usage)) = futures::try_join!(agents, coding)?;
        usage = sum_usage(&[usage, coding_usage]);

        let mut specs = Vec::with_capacity(agents.len());
        for (mut spec, agent_usage) in agents {
            usage = sum_usage(&[usage, agent_usage]);
            // Added after the coding decision, which ran alongside the system messages.
            spec.system_message = format!(
                "{}\n\n{}",
                spec.system_message.trim_end(),
                team_instructions(coding, DEFAULT_EXECUTOR_NAME)
            );
            specs.push(spec);
        }
        let team = self.assemble(task, specs, coding)?;
        Ok(BuildOutcome { team, usage })
    }

    /// Builds a team for `task` from saved agents: one call picks at most `max_agents`
    /// of `library` by name (unknown names are ignored), alongside the coding decision
    /// unless [`BuildOptions::coding`] forces it. Agents are taken as saved; when code
    /// runs, those whose system message never mentions the executor get the code-block
    /// instructions appended.
    pub async fn build_from_library(
        &self,
        task: &str,
        library: &[AgentSpec],
        emitter: &RunEmitter,
        cancel: &CancellationToken,
    ) -> Result<BuildOutcome, BuildError> {
        if library.is_empty() {
            return Err(BuildError::Team(TeamError::NoAgents));
        }
        let max = self.options.max_agents.max(1);
        let example: Vec<&str> = library.iter().take(2).map(|a| a.name.as_str()).collect();
        let pick = self.ask(
            Question {
                step: "choice of library agents".into(),
                purpose: Purpose::Other,
                prompt: library_prompt(task, library, max),
                expected: names_format(max, &example),
            },
            |text| pick_from_library(text, library),
            emitter,
            cancel,
        );
        let coding = self.decide_coding(task, emitter, cancel);
        let ((mut picked, pick_usage), (coding, coding_usage)) = futures::try_join!(pick, coding)?;
        picked.truncate(max);
        let specs = picked
            .into_iter()
            .map(|mut spec| {
                spec.system_message = complete_system_message(
                    &spec.system_message,
                    coding,
                    Some(DEFAULT_TERMINATION_TEXT),
                    DEFAULT_EXECUTOR_NAME,
                );
                spec
            })
            .collect();
        let team = self.assemble(task, specs, coding)?;
        Ok(BuildOutcome {
            team,
            usage: sum_usage(&[pick_usage, coding_usage]),
        })
    }

    /// The team around the designed agents, validated.
    fn assemble(
        &self,
        task: &str,
        agents: Vec<AgentSpec>,
        coding: bool,
    ) -> Result<TeamSpec, BuildError> {
        let mut team = TeamSpec::new(team_name(task), agents);
        team.building_task = Some(task.to_string());
        team.code_execution.enabled = coding;
        team.default_model = self.options.model.clone();
        team.validate()?;
        Ok(team)
    }

    /// One expert: its system message, then a description derived from it.
    async fn design_agent(
        &self,
        task: &str,
        name: &str,
        team: &[String],
        emitter: &RunEmitter,
        cancel: &CancellationToken,
    ) -> Result<Asked<AgentSpec>, BuildError> {
        let (system_message, sm_usage) = self
            .ask(
                Question {
                    step: format!("system message for {name}"),
                    purpose: Purpose::BuildSystemMessage {
                        agent: name.to_string(),
                    },
                    prompt: system_message_prompt(task, name, team),
                    expected: SYSTEM_MESSAGE_FORMAT.to_string(),
                },
                |text| clean_answer(text, "system message"),
                emitter,
                cancel,
            )
            .await?;
        let (description, d_usage) = self
            .ask(
                Question {
                    step: format!("description of {name}"),
                    purpose: Purpose::BuildDescription {
                        agent: name.to_string(),
                    },
                    prompt: description_prompt(name, &system_message),
                    expected: DESCRIPTION_FORMAT.to_string(),
                },
                |text| clean_answer(text, "description").map(|d| one_line(&d)),
                emitter,
                cancel,
            )
            .await?;
        let spec = AgentSpec::new(name, system_message, description);
        Ok((spec, sum_usage(&[sm_usage, d_usage])))
    }

    /// Whether the team runs code: forced by the options, else asked.
    async fn decide_coding(
        &self,
        task: &str,
        emitter: &RunEmitter,
        cancel: &CancellationToken,
    ) -> Result<Asked<bool>, BuildError> {
        if let Some(forced) = self.options.coding {
            return Ok((forced, UsageTotals::default()));
        }
        self.ask(
            Question {
                step: "coding decision".into(),
                purpose: Purpose::BuildCoding,
                prompt: coding_prompt(task),
                expected: CODING_FORMAT.to_string(),
            },
            |text| parse_yes_no(text).map_err(|e| e.to_string()),
            emitter,
            cancel,
        )
        .await
    }

    /// Asks the model and parses the answer, re-asking with the parse error at most
    /// `max_parse_retries` times. Emits a `usage` event per call and a `log` per retry.
    async fn ask<T>(
        &self,
        question: Question,
        parse: impl Fn(&str) -> Result<T, String>,
        emitter: &RunEmitter,
        cancel: &CancellationToken,
    ) -> Result<Asked<T>, BuildError> {
        let Question {
            step,
            purpose,
            prompt,
            expected,
        } = question;
        let attempts = self.options.max_parse_retries.saturating_add(1);
        let mut messages = vec![
            ChatMessage::system(ARCHITECT_PROMPT),
            ChatMessage::user(prompt),
        ];
        let mut usage = UsageTotals::default();
        let mut last_error = String::new();
        for attempt in 1..=attempts {
            if cancel.is_cancelled() {
                return Err(ModelError::Cancelled.into());
            }
            let mut request = ChatRequest::new(purpose.clone(), messages.clone());
            request.model = self.options.model.clone();
            // Builder answers are short and parsed whole; nobody watches them stream.
            let mut ignore_deltas = |_: &str| {};
            let response = self.model.chat(request, &mut ignore_deltas, cancel).await?;
            usage.add(&response.usage);
            emitter
                .emit(EventKind::Usage {
                    model: response.model.clone(),
                    prompt_tokens: response.usage.prompt_tokens,
                    completion_tokens: response.usage.completion_tokens,
                    cost_usd: response.usage.cost_usd,
                })
                .await?;
            match parse(&response.content) {
                Ok(value) => return Ok((value, usage)),
                Err(detail) => {
                    tracing::warn!(step = %step, attempt, error = %detail, "unusable builder answer");
                    last_error = detail;
                    if attempt == attempts {
                        break;
                    }
                    emitter
                        .emit(EventKind::Log {
                            level: LogLevel::Warn,
                            message: format!(
                                "team builder: unusable {step} ({last_error}); asking again \
                                 (attempt {} of {attempts})",
                                attempt + 1
                            ),
                        })
                        .await?;
                    messages.push(ChatMessage::assistant(response.content));
                    messages.push(ChatMessage::user(format!(
                        "I could not use that answer: {last_error}. {expected}"
                    )));
                }
            }
        }
        Err(BuildError::Malformed {
            step,
            attempts,
            detail: last_error,
        })
    }
}

/// Adds usage totals together.
fn sum_usage(parts: &[UsageTotals]) -> UsageTotals {
    let mut total = UsageTotals::default();
    for part in parts {
        total.add_totals(part);
    }
    total
}

/// Expert names from an answer, without the names the chat reserves for the user and the
/// executor (a model asked for "a team" often lists them).
fn parse_expert_names(text: &str) -> Result<Vec<String>, String> {
    let names: Vec<String> = parse_name_list(text, 0)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|n| {
            !n.eq_ignore_ascii_case(DEFAULT_ADMIN_NAME)
                && !n.eq_ignore_ascii_case(DEFAULT_EXECUTOR_NAME)
        })
        .collect();
    if names.is_empty() {
        return Err(format!(
            "only reserved names were given ({DEFAULT_ADMIN_NAME} and {DEFAULT_EXECUTOR_NAME} \
             are already in the chat)"
        ));
    }
    Ok(names)
}

/// Library agents named in an answer, in the answer's order; unknown names are ignored.
fn pick_from_library(text: &str, library: &[AgentSpec]) -> Result<Vec<AgentSpec>, String> {
    let names = parse_name_list(text, 0).map_err(|e| e.to_string())?;
    let mut picked: Vec<AgentSpec> = Vec::new();
    for name in &names {
        let found = library.iter().find(|agent| {
            agent.name.eq_ignore_ascii_case(name)
                || normalize_name(&agent.name).is_some_and(|n| n.eq_ignore_ascii_case(name))
        });
        if let Some(agent) = found
            && !picked.iter().any(|p| p.name == agent.name)
        {
            picked.push(agent.clone());
        }
    }
    if picked.is_empty() {
        let available: Vec<&str> = library.iter().map(|a| a.name.as_str()).collect();
        return Err(format!(
            "none of {} is in the list; choose from: {}",
            names.join(", "),
            available.join(", ")
        ));
    }
    Ok(picked)
}

/// A free-text answer without surrounding fences, quotes or a leading label.
fn clean_answer(text: &str, what: &str) -> Result<String, String> {
    let mut s = text.trim();
    if let Some(inner) = s.strip_prefix("```") {
        // Drop the info string line, then the closing fence.
        let inner = inner.split_once('\n').map_or("", |(_, rest)| rest);
        s = inner.trim_end().trim_end_matches("```").trim();
    }
    for label in ["system message:", "description:"] {
        if let Some(head) = s.get(..label.len())
            && head.eq_ignore_ascii_case(label)
        {
            s = s[label.len()..].trim();
        }
    }
    let s = s.trim_matches(|c| c == '"' || c == '“' || c == '”').trim();
    if s.is_empty() {
        return Err(format!("the {what} was empty"));
    }
    Ok(s.to_string())
}

/// Whitespace (including newlines) collapsed to single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A short display name for a team built for `task`: its first words.
pub(crate) fn team_name(task: &str) -> String {
    const MAX_WORDS: usize = 6;
    const MAX_CHARS: usize = 60;
    let words: Vec<String> = task
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string())
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .collect();
    let name: String = words.join(" ").chars().take(MAX_CHARS).collect();
    if name.trim().is_empty() {
        "Team".into()
    } else {
        name.trim().to_string()
    }
}

/// The reply-format instruction for name lists.
fn names_format(max: usize, example: &[&str]) -> String {
    let example: Vec<String> = example.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        "Reply with only a JSON array of 1 to {max} names, for example [{}].",
        example.join(", ")
    )
}

/// The task, quoted so that its own formatting cannot be mistaken for instructions.
fn quoted_task(task: &str) -> String {
    format!("Task:\n\"\"\"\n{}\n\"\"\"", task.trim())
}

fn names_prompt(task: &str, max: usize) -> String {
    format!(
        "{}\n\nWhich experts does this task need? Choose between 1 and {max} roles that \
         complement each other; fewer is better when the task is simple. Name each expert \
         by its role, in Title_Case with underscores, using only letters, digits and \
         underscores (for example Data_Analyst). Do not include a user, a manager or a code \
         runner: the chat already has them.\n\n{}",
        quoted_task(task),
        names_format(max, &["Data_Analyst", "Python_Developer"])
    )
}

fn system_message_prompt(task: &str, name: &str, team: &[String]) -> String {
    format!(
        "{}\n\nThe team: {}.\n\nWrite the system message for {name}. Say what {name} is an \
         expert in, what it is responsible for in this task, what it should leave to the \
         other experts, and how it checks its own work. Keep it under 200 words. Do not \
         explain how the chat works or how it ends; that is added separately.\n\n{}",
        quoted_task(task),
        team.join(", "),
        SYSTEM_MESSAGE_FORMAT
    )
}

fn description_prompt(name: &str, system_message: &str) -> String {
    format!(
        "This is the system message of the expert {name}:\n\"\"\"\n{}\n\"\"\"\n\nIn one \
         sentence, in the third person, say what {name} is skilled at and when it should \
         speak. A chat manager reads this sentence to decide who talks next.\n\n{}",
        system_message.trim(),
        DESCRIPTION_FORMAT
    )
}

fn coding_prompt(task: &str) -> String {
    format!(
        "{}\n\nTo solve this task, will the team need to write and run code (for example \
         to compute results, analyse data, fetch web pages or work with files)? Tasks that \
         only need reasoning, writing or discussion do not.\n\n{}",
        quoted_task(task),
        CODING_FORMAT
    )
}

fn library_prompt(task: &str, library: &[AgentSpec], max: usize) -> String {
    let example: Vec<&str> = library.iter().take(2).map(|a| a.name.as_str()).collect();
    let mut listing = String::new();
    for agent in library {
        let summary = if agent.description.trim().is_empty() {
            one_line(&agent.system_message)
                .chars()
                .take(200)
                .collect::<String>()
        } else {
            one_line(&agent.description)
        };
        listing.push_str(&format!("- {}: {summary}\n", agent.name));
    }
    format!(
        "{}\n\nAvailable experts:\n{listing}\nPick the experts from this list that the task \
         needs, at most {max}. Use the names exactly as listed.\n\n{}",
        quoted_task(task),
        names_format(max, &example)
    )
}

/// An agent's system message completed with the group-chat mechanics it does not already
/// mention: how the chat ends (when a termination text is set) and, when code runs, how
/// to get code run. Saved and imported teams (AutoGen's files hold only the role text) get
/// the same rules as freshly built ones; a message that already has them is unchanged.
pub fn complete_system_message(
    system_message: &str,
    coding: bool,
    termination: Option<&str>,
    executor: &str,
) -> String {
    let mut message = system_message.trim_end().to_string();
    if let Some(text) = termination.filter(|t| !t.is_empty() && !message.contains(*t)) {
        message.push_str(&format!(
            "\n\n{GROUP_CHAT_RULES}\n\nWhen the task is complete and the result has been \
             checked, reply with {text}."
        ));
    }
    if coding && !message.contains(executor) {
        message.push_str("\n\n");
        message.push_str(&coding_instructions(executor));
    }
    message
}

const GROUP_CHAT_RULES: &str = "You work with other experts in a group chat, together with \
     the user who set the task. Read the whole conversation, build on the others' work, point \
     out mistakes you see, and keep your replies focused on your own role.";

/// The chat mechanics every built agent gets, after its role description.
fn team_instructions(coding: bool, executor: &str) -> String {
    let mut text = String::from(GROUP_CHAT_RULES);
    if coding {
        text.push_str("\n\n");
        text.push_str(&coding_instructions(executor));
    }
    text.push_str(&format!(
        "\n\nWhen the task is complete and the result has been checked, reply with \
         {DEFAULT_TERMINATION_TEXT}."
    ));
    text
}

/// How to get code run by the executor agent.
fn coding_instructions(executor: &str) -> String {
    format!(
        "To run code, write it in a fenced block tagged python or sh (```python ... ```). \
         {executor} runs the blocks of the latest message and replies with the exit code \
         and output. Put a complete script in each block, print the results you need, and \
         fix the code when it fails."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_messages_get_only_the_rules_they_lack() {
        let bare = complete_system_message(
            "You plan the work.",
            true,
            Some("TERMINATE"),
            "Computer_terminal",
        );
        assert!(bare.starts_with("You plan the work.\n\n"));
        assert!(
            bare.contains("reply with TERMINATE")
                && bare.contains("Computer_terminal runs the blocks")
        );
        // Complete messages (what the builder writes) are left alone, so rules never repeat.
        assert_eq!(
            complete_system_message(&bare, true, Some("TERMINATE"), "Computer_terminal"),
            bare
        );
        let no_code =
            complete_system_message("You plan.", false, Some("DONE"), "Computer_terminal");
        assert!(no_code.contains("reply with DONE") && !no_code.contains("Computer_terminal"));
        assert_eq!(
            complete_system_message("You plan.", false, None, "Computer_terminal"),
            "You plan."
        );
    }

    #[test]
    fn team_name_is_short() {
        assert_eq!(
            team_name("Find recent papers on LLM agents, then summarise them in a table."),
            "Find recent papers on LLM agents"
        );
        assert_eq!(team_name("  ?? "), "Team");
    }

    #[test]
    fn clean_answer_strips_fences_and_labels() {
        assert_eq!(
            clean_answer("```text\nYou are a coder.\n```", "x").unwrap(),
            "You are a coder."
        );
        assert_eq!(
            clean_answer("System message: \"You plan.\"", "x").unwrap(),
            "You plan."
        );
        assert_eq!(
            clean_answer("  ``` ```", "system message"),
            Err("the system message was empty".into())
        );
    }

    #[test]
    fn reserved_names_are_dropped() {
        assert_eq!(
            parse_expert_names(r#"["User", "Coder", "computer_terminal"]"#).unwrap(),
            vec!["Coder"]
        );
        assert!(parse_expert_names(r#"["User"]"#).is_err());
    }

    #[test]
    fn instructions_mention_terminate_and_executor_only_when_coding() {
        let off = team_instructions(false, DEFAULT_EXECUTOR_NAME);
        assert!(off.contains("TERMINATE") && !off.contains(DEFAULT_EXECUTOR_NAME));
        let on = team_instructions(true, DEFAULT_EXECUTOR_NAME);
        assert!(on.contains(DEFAULT_EXECUTOR_NAME) && on.contains("```python"));
    }
}
