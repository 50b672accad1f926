//! [`GroupChat`]: runs a team on a task. Each turn picks a speaker, lets it speak
//! (streaming its reply as `message_delta` events), runs pending code through the executor
//! agent, and checks the end conditions. It can resume from persisted turns without
//! repeating them.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::artifact::{
    Artifact, ArtifactFile, ArtifactSink, ArtifactSkip, Kept, MAX_ARTIFACTS_PER_BLOCK,
    changed_files, content_type_for,
};
use crate::builder::complete_system_message;
use crate::codeblock::runnable_code_blocks;
use crate::event::{EventKind, LogLevel, RunEmitter, RunStatus, SinkError, UsageTotals};
use crate::executor::{
    CodeBlock, CodeExecutor, CodeWorkspace, ExecError, ExecutionResult, Language, WorkspaceFile,
};
use crate::failure::RunFailure;
use crate::input::{InputError, InputSource};
use crate::message::{ChatMessage, TranscriptMessage};
use crate::model::{
    ChatModel, ChatRequest, ChatResponse, ModelError, Purpose, ToolCall, ToolDefinition, Usage,
};
use crate::speaker::{SelectError, SelectionInput, SpeakerSelector};
use crate::team::{HumanInput, TeamSpec};
use crate::termination::{StopReason, limit_reached, mentions_termination};
use crate::tool::{
    MAX_TOOL_ROUNDS, ToolBox, ToolError, ToolInfo, cap_tool_result, is_allowed, names_server,
    wire_tool_name,
};

/// Times an agent's turn is asked again when its reply broke off mid-stream (a dropped
/// connection, a stalled stream) with a retryable error.
const BROKEN_REPLY_RETRIES: u32 = 2;

/// What a run needs from the outside world.
#[derive(Clone)]
pub struct RunContext {
    /// Numbers and delivers the run's events.
    pub emitter: RunEmitter,
    /// The model agents (and `auto` selection) use.
    pub model: Arc<dyn ChatModel>,
    /// Runs code; `None` turns code execution off.
    pub executor: Option<Arc<dyn CodeExecutor>>,
    /// Keeps the files code blocks write; `None`: they are listed in `code_result` events
    /// as not kept and go with the workspace.
    pub artifacts: Option<Arc<dyn ArtifactSink>>,
    /// Human answers (manual selection, human-driven agents).
    pub input: Arc<dyn InputSource>,
    /// The deployment's tools (MCP servers); `None`: agents answer without tools.
    pub tools: Option<Arc<dyn ToolBox>>,
    /// Cancels the run.
    pub cancel: CancellationToken,
}

/// How a chat ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatOutcome {
    /// Final status.
    pub status: RunStatus,
    /// Why it ended.
    pub reason: StopReason,
    /// The last meaningful message, or the failure.
    pub summary: String,
    /// The failure, when it failed.
    pub error: Option<RunFailure>,
    /// Usage including what was passed in at start.
    pub usage: UsageTotals,
    /// Every turn, including resumed ones.
    pub transcript: Vec<TranscriptMessage>,
}

/// Why a step stopped the chat early.
enum StepStop {
    Reason(StopReason),
    Failed(RunFailure),
    Sink(SinkError),
}

impl From<SinkError> for StepStop {
    fn from(error: SinkError) -> Self {
        StepStop::Sink(error)
    }
}

impl From<ModelError> for StepStop {
    fn from(error: ModelError) -> Self {
        match RunFailure::from_model(&error) {
            Some(failure) => StepStop::Failed(failure),
            None => StepStop::Reason(StopReason::Cancelled),
        }
    }
}

/// A group chat of one team.
pub struct GroupChat {
    team: TeamSpec,
    ctx: RunContext,
    selector: SpeakerSelector,
    usage: UsageTotals,
    transcript: Vec<TranscriptMessage>,
    workspace: Option<Box<dyn CodeWorkspace>>,
    /// Agents already told why they get no tools (said once per run).
    tool_warnings: std::collections::HashSet<String>,
    /// Each turn's tool calls and results, by the turn's message id, replayed to the
    /// same agent in its later turns. Kept in memory only: a resumed run's agents see
    /// their earlier turns' text, as the other agents always do.
    tool_exchanges: std::collections::HashMap<String, Vec<ChatMessage>>,
}

impl GroupChat {
    /// A chat of `team`. Code execution happens only if the team enables it and the
    /// context has an executor.
    pub fn new(team: TeamSpec, ctx: RunContext) -> Self {
        let selector = SpeakerSelector::new(&team.speaker_selection);
        Self {
            team,
            ctx,
            selector,
            usage: UsageTotals::default(),
            transcript: Vec::new(),
            workspace: None,
            tool_warnings: std::collections::HashSet::new(),
            tool_exchanges: std::collections::HashMap::new(),
        }
    }

    /// Usage already spent on this run (team building, or before a resume), counted
    /// against the budgets and reported in the totals.
    pub fn with_usage(mut self, usage: UsageTotals) -> Self {
        self.usage = usage;
        self
    }

    /// Runs the chat on `task`. With a non-empty `resume_from` (turns persisted by an
    /// earlier attempt) it continues after the last of them instead of starting over.
    ///
    /// Only an event sink failure is an `Err`; every other failure ends the chat with a
    /// failed [`ChatOutcome`].
    pub async fn run(
        mut self,
        task: &str,
        resume_from: Vec<TranscriptMessage>,
    ) -> Result<ChatOutcome, SinkError> {
        let deadline = self
            .team
            .termination
            .timeout_secs
            .map(|s| Instant::now() + Duration::from_secs(s));
        let ended = self.converse(task, resume_from, deadline).await;
        if let Some(workspace) = self.workspace.take()
            && let Err(error) = workspace.close().await
        {
            tracing::warn!(%error, "could not remove code workspace");
        }
        let (reason, error) = match ended {
            StepStop::Reason(reason) => (reason, None),
            StepStop::Failed(failure) => (StopReason::Error, Some(failure)),
            StepStop::Sink(error) => return Err(error),
        };
        let summary = match &error {
            Some(failure) => failure.message.clone(),
            None => self.summary(),
        };
        Ok(ChatOutcome {
            status: reason.status(),
            reason,
            summary,
            error,
            usage: self.usage,
            transcript: self.transcript,
        })
    }

    async fn converse(
        &mut self,
        task: &str,
        resume_from: Vec<TranscriptMessage>,
        deadline: Option<Instant>,
    ) -> StepStop {
        if resume_from.is_empty() {
            let turn = TranscriptMessage {
                message_id: new_id(),
                agent: self.team.admin_name.clone(),
                content: task.to_string(),
                tokens: 0,
            };
            if let Err(error) = self.emit_message(&turn).await {
                return error.into();
            }
            self.transcript.push(turn);
        } else {
            self.transcript = resume_from;
            if self.last_turn_terminates() {
                return StepStop::Reason(StopReason::TextMention);
            }
        }
        loop {
            if let Some(reason) =
                limit_reached(&self.team.termination, self.transcript.len(), &self.usage)
            {
                return StepStop::Reason(reason);
            }
            let cancel = self.ctx.cancel.clone();
            let step = self.step().boxed();
            let outcome = tokio::select! {
                biased;
                () = cancel.cancelled() => StepStop::Reason(StopReason::Cancelled),
                () = sleep_until(deadline) => StepStop::Reason(StopReason::Timeout),
                outcome = step => match outcome {
                    Ok(()) => continue,
                    Err(stop) => stop,
                },
            };
            return outcome;
        }
    }

    /// One turn: choose a speaker, let it speak. Returns `Err` when the chat must stop.
    async fn step(&mut self) -> Result<(), StepStop> {
        let executor_name = self.team.code_execution.executor_name.clone();
        let coding = self.coding_enabled();
        let code_pending = coding
            && self
                .pending_code()
                .is_some_and(|(_, blocks)| !blocks.is_empty());
        let selection = self
            .selector
            .select(SelectionInput {
                team: &self.team,
                transcript: &self.transcript,
                code_pending,
                model: self.ctx.model.as_ref(),
                input: self.ctx.input.as_ref(),
                emitter: &self.ctx.emitter,
                cancel: &self.ctx.cancel,
            })
            .await
            .map_err(|error| match error {
                SelectError::Cancelled => StepStop::Reason(StopReason::Cancelled),
                SelectError::Sink(error) => StepStop::Sink(error),
            })?;
        for (model, usage) in &selection.usage {
            self.account(model, usage).await?;
        }
        self.ctx
            .emitter
            .emit(EventKind::Speaker {
                agent: selection.agent.clone(),
                reason: selection.reason,
            })
            .await?;

        // The turn's span, in OpenTelemetry's GenAI vocabulary: the model call and the
        // code executions of the turn are its children.
        let span = tracing::info_span!(
            "invoke_agent",
            otel.name = %format_args!("invoke_agent {}", selection.agent),
            otel.kind = "internal",
            gen_ai.operation.name = "invoke_agent",
            gen_ai.agent.name = %selection.agent,
            cadre.turn = self.transcript.len(),
        );
        let human = self
            .team
            .agent(&selection.agent)
            .and_then(|agent| agent.human_input.clone());
        let turn = async {
            if coding && selection.agent == executor_name {
                self.executor_turn(&executor_name).await
            } else if let Some(human) = human {
                self.human_turn(&selection.agent, &human).await
            } else {
                self.agent_turn(&selection.agent).await
            }
        }
        .instrument(span)
        .await?;
        let terminates = turn.agent != executor_name
            && mentions_termination(&self.team.termination, &turn.content);
        self.transcript.push(turn);
        if terminates {
            return Err(StepStop::Reason(StopReason::TextMention));
        }
        Ok(())
    }

    /// A model-driven agent's turn. When the agent may call tools, the model is offered
    /// them; each call it makes is announced (`tool_call`), made or refused, answered
    /// (`tool_result`) and fed back, until the model replies without calling any (at
    /// most [`MAX_TOOL_ROUNDS`] rounds of calls are made).
    async fn agent_turn(&mut self, name: &str) -> Result<TranscriptMessage, StepStop> {
        let offered = self.offered_tools(name).await?;
        let agent = self.team.agent(name);
        let mut messages = vec![ChatMessage::system(complete_system_message(
            agent.map(|a| a.system_message.as_str()).unwrap_or_default(),
            self.coding_enabled(),
            self.team.termination.text_mention.as_deref(),
            &self.team.code_execution.executor_name,
        ))];
        for turn in &self.transcript {
            let message = if turn.agent == name {
                // The agent's own tool calls and their results come back to it (as in
                // AgentChat's model context); the others see only what it said. Not
                // when it is offered no tools this turn: some providers refuse tool calls
                // in a request that defines no tools.
                if let Some(exchange) = self.tool_exchanges.get(&turn.message_id)
                    && !offered.is_empty()
                {
                    messages.extend(exchange.iter().cloned());
                }
                ChatMessage::assistant(turn.content.clone())
            } else {
                ChatMessage::user(turn.content.clone())
            };
            messages.push(message.named(turn.agent.clone()));
        }
        let mut request = ChatRequest::new(
            Purpose::AgentReply {
                agent: name.to_string(),
            },
            messages,
        );
        request.model = agent
            .and_then(|a| a.model.clone())
            .or_else(|| self.team.default_model.clone());
        request.temperature = self.team.temperature;
        request.tools = offered
            .iter()
            .map(|tool| ToolDefinition {
                name: wire_tool_name(&tool.name),
                description: tool.description.clone(),
                parameters: tool.parameters.clone(),
            })
            .collect();

        let history_len = request.messages.len();
        let mut message_id = new_id();
        let mut texts: Vec<String> = Vec::new();
        let mut tool_results: Vec<String> = Vec::new();
        let mut tokens = 0;
        let mut rounds = 0;
        loop {
            let response = self.reply(name, &mut message_id, &request).await?;
            self.account(&response.model, &response.usage).await?;
            tokens += response.usage.completion_tokens;
            if !response.content.trim().is_empty() {
                texts.push(response.content.trim().to_string());
            }
            if response.tool_calls.is_empty() {
                break;
            }
            rounds += 1;
            if rounds > MAX_TOOL_ROUNDS + 1 {
                self.warn(format!(
                    "{name} kept calling tools after its limit of {MAX_TOOL_ROUNDS} rounds; \
                     its turn ends here"
                ))
                .await?;
                break;
            }
            // Providers that omit call ids still need the results matched to the calls.
            let calls: Vec<ToolCall> = response
                .tool_calls
                .into_iter()
                .enumerate()
                .map(|(index, mut call)| {
                    if call.id.is_empty() {
                        call.id = format!("call_{rounds}_{index}");
                    }
                    call
                })
                .collect();
            request.messages.push(
                ChatMessage::assistant_with_tool_calls(response.content, calls.clone()).named(name),
            );
            let over_limit = rounds > MAX_TOOL_ROUNDS;
            for call in &calls {
                let answer = self
                    .call_tool(name, &message_id, call, &offered, over_limit)
                    .await?;
                tool_results.push(answer.clone());
                request
                    .messages
                    .push(ChatMessage::tool_result(call.id.clone(), answer));
            }
        }
        // Like AgentChat's tool-call summary: a turn that ends without text still tells
        // the others what its tools answered.
        let content = if texts.is_empty() {
            tool_results.join("\n")
        } else {
            texts.join("\n\n")
        };
        if request.messages.len() > history_len {
            self.tool_exchanges
                .insert(message_id.clone(), request.messages.split_off(history_len));
        }
        let turn = TranscriptMessage {
            message_id,
            agent: name.to_string(),
            content,
            tokens,
        };
        self.emit_message(&turn).await?;
        Ok(turn)
    }

    /// One model call of `name`'s turn, streamed as `message_id`. A reply that broke off
    /// after text had streamed is not retried by the model client (the text already
    /// reached the user); it is asked again here under a new message id, and the
    /// abandoned draft is dropped by the UIs.
    async fn reply(
        &mut self,
        name: &str,
        message_id: &mut String,
        request: &ChatRequest,
    ) -> Result<ChatResponse, StepStop> {
        let mut retries_left = BROKEN_REPLY_RETRIES;
        loop {
            let (response, streamed) = self.stream_reply(name, message_id, request).await?;
            match response {
                Err(error) if streamed && error.retryable() && retries_left > 0 => {
                    retries_left -= 1;
                    *message_id = new_id();
                    self.ctx
                        .emitter
                        .emit(EventKind::Log {
                            level: LogLevel::Warn,
                            message: format!("{name}'s reply broke off ({error}); asking again"),
                        })
                        .await?;
                }
                response => return Ok(response?),
            }
        }
    }

    /// The tools `name` is offered this turn: the deployment's tools its allowlist
    /// names. Why an agent with an allowlist gets none is said once per run.
    async fn offered_tools(&mut self, name: &str) -> Result<Vec<ToolInfo>, StepStop> {
        let allowlist = match self.team.agent(name) {
            Some(agent) if !agent.tools.is_empty() => agent.tools.clone(),
            _ => return Ok(Vec::new()),
        };
        let Some(toolbox) = self.ctx.tools.clone() else {
            self.warn_once(
                name,
                format!(
                    "{name} may call tools ({}), but this deployment has no MCP servers \
                     configured: it answers without them",
                    allowlist.join(", ")
                ),
            )
            .await?;
            return Ok(Vec::new());
        };
        let listing = toolbox.tools().await;
        for error in &listing.unavailable {
            let relevant = match error {
                ToolError::Unavailable { server, .. } => names_server(&allowlist, server),
                _ => true,
            };
            if relevant {
                self.warn(format!(
                    "{name} cannot use some of its tools this turn: {error}"
                ))
                .await?;
            }
        }
        let offered: Vec<ToolInfo> = listing
            .tools
            .into_iter()
            .filter(|tool| is_allowed(&allowlist, &tool.name))
            .collect();
        if offered.is_empty() && listing.unavailable.is_empty() {
            self.warn_once(
                name,
                format!(
                    "none of the tools {name} may call ({}) is offered by this \
                     deployment's MCP servers",
                    allowlist.join(", ")
                ),
            )
            .await?;
        }
        Ok(offered)
    }

    async fn warn_once(&mut self, agent: &str, message: String) -> Result<(), SinkError> {
        if self.tool_warnings.insert(agent.to_string()) {
            self.warn(message).await?;
        }
        Ok(())
    }

    /// Makes (or refuses) one tool call, framed by its `tool_call` and `tool_result`
    /// events; returns what the model is told.
    async fn call_tool(
        &mut self,
        agent: &str,
        message_id: &str,
        call: &ToolCall,
        offered: &[ToolInfo],
        over_limit: bool,
    ) -> Result<String, StepStop> {
        let tool = offered
            .iter()
            .find(|tool| wire_tool_name(&tool.name) == call.name);
        let qualified = tool.map_or_else(|| call.name.clone(), |tool| tool.name.clone());
        let arguments = parse_tool_arguments(&call.arguments);
        self.ctx
            .emitter
            .emit(EventKind::ToolCall {
                message_id: message_id.to_string(),
                call_id: call.id.clone(),
                agent: agent.to_string(),
                tool: qualified.clone(),
                arguments: match &arguments {
                    Ok(map) => serde_json::Value::Object(map.clone()),
                    Err(_) => serde_json::Value::String(call.arguments.clone()),
                },
            })
            .await?;
        let started = Instant::now();
        let (content, is_error, refused) = match (tool, arguments) {
            _ if over_limit => (
                format!(
                    "Refused: the limit of {MAX_TOOL_ROUNDS} rounds of tool calls in one turn \
                     was reached. Reply now with what you have."
                ),
                true,
                true,
            ),
            (None, _) => {
                let names: Vec<&str> = offered.iter().map(|t| t.name.as_str()).collect();
                (
                    format!(
                        "Refused: {} is not a tool {agent} may call. {}",
                        call.name,
                        if names.is_empty() {
                            "No tools are available to you.".to_string()
                        } else {
                            format!("Tools you may call: {}.", names.join(", "))
                        }
                    ),
                    true,
                    true,
                )
            }
            (Some(_), Err(why)) => (
                format!("The arguments must be a JSON object: {why}. Call the tool again."),
                true,
                false,
            ),
            (Some(_), Ok(arguments)) => {
                let span = tracing::info_span!(
                    "execute_tool",
                    otel.name = %format_args!("execute_tool {qualified}"),
                    otel.kind = "internal",
                    gen_ai.operation.name = "execute_tool",
                    gen_ai.tool.name = %qualified,
                    gen_ai.tool.call.id = %call.id,
                    gen_ai.tool.type = "function",
                );
                // Tools are offered only from the context's toolbox, so it is there.
                let called = match self.ctx.tools.clone() {
                    Some(toolbox) => {
                        toolbox
                            .call(&qualified, arguments, &self.ctx.cancel)
                            .instrument(span)
                            .await
                    }
                    None => Err(ToolError::Unknown(qualified.clone())),
                };
                match called {
                    Ok(output) => (cap_tool_result(output.content), output.is_error, false),
                    Err(ToolError::Cancelled) => {
                        return Err(StepStop::Reason(StopReason::Cancelled));
                    }
                    Err(error) => (format!("The tool failed: {error}"), true, false),
                }
            }
        };
        let duration_ms = if refused {
            0
        } else {
            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
        };
        self.ctx
            .emitter
            .emit(EventKind::ToolResult {
                message_id: message_id.to_string(),
                call_id: call.id.clone(),
                agent: agent.to_string(),
                tool: qualified,
                content: content.clone(),
                is_error,
                refused,
                duration_ms,
            })
            .await?;
        Ok(content)
    }

    /// A human-driven agent's turn: the user is asked, and the run waits up to the
    /// agent's timeout, then goes on with its default reply. A run nobody can answer
    /// (non-interactive) takes the default at once.
    async fn human_turn(
        &mut self,
        name: &str,
        human: &HumanInput,
    ) -> Result<TranscriptMessage, StepStop> {
        let prompt = format!(
            "Your turn as {name}: reply to the team. Without an answer within {} s, {name} \
             says: {}",
            human.timeout_secs, human.default_reply
        );
        let emitter = &self.ctx.emitter;
        emitter
            .emit(EventKind::Status {
                status: RunStatus::WaitingInput,
            })
            .await?;
        emitter
            .emit(EventKind::InputRequest {
                prompt: prompt.clone(),
                options: Vec::new(),
                agent: Some(name.to_string()),
                timeout_secs: Some(human.timeout_secs),
                default: Some(human.default_reply.clone()),
            })
            .await?;
        let wait = Duration::from_secs(human.timeout_secs);
        let answer =
            tokio::time::timeout(wait, self.ctx.input.ask(&prompt, &self.ctx.cancel)).await;
        emitter
            .emit(EventKind::Status {
                status: RunStatus::Executing,
            })
            .await?;
        let content = match answer {
            Ok(Ok(answer)) => {
                emitter
                    .emit(EventKind::Input {
                        content: answer.clone(),
                    })
                    .await?;
                answer
            }
            Ok(Err(InputError::Cancelled)) => return Err(StepStop::Reason(StopReason::Cancelled)),
            Ok(Err(InputError::Unavailable(why))) => {
                emitter
                    .emit(EventKind::Log {
                        level: LogLevel::Warn,
                        message: format!(
                            "{name} cannot ask a human ({why}): its default reply is used"
                        ),
                    })
                    .await?;
                human.default_reply.clone()
            }
            Err(_) => {
                emitter
                    .emit(EventKind::Log {
                        level: LogLevel::Info,
                        message: format!(
                            "no answer for {name} within {} s: its default reply is used",
                            human.timeout_secs
                        ),
                    })
                    .await?;
                human.default_reply.clone()
            }
        };
        let turn = TranscriptMessage {
            message_id: new_id(),
            agent: name.to_string(),
            content,
            tokens: 0,
        };
        self.emit_message(&turn).await?;
        Ok(turn)
    }

    /// One model call for `name`'s turn, its deltas forwarded as `message_id`; whether
    /// any text streamed before it ended.
    async fn stream_reply(
        &mut self,
        name: &str,
        message_id: &str,
        request: &ChatRequest,
    ) -> Result<(Result<ChatResponse, ModelError>, bool), StepStop> {
        let (delta_tx, mut delta_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let model = self.ctx.model.clone();
        let cancel = self.ctx.cancel.clone();
        let request = request.clone();
        // Deltas are forwarded while the model streams; the sender lives in the closure, so
        // the forwarding loop ends when the call returns.
        let call = async move {
            let mut on_delta = move |delta: &str| {
                let _ = delta_tx.send(delta.to_string());
            };
            model.chat(request, &mut on_delta, &cancel).await
        };
        let mut streamed = false;
        let forward = async {
            while let Some(delta) = delta_rx.recv().await {
                streamed = true;
                self.ctx
                    .emitter
                    .emit(EventKind::MessageDelta {
                        message_id: message_id.to_string(),
                        agent: name.to_string(),
                        delta,
                    })
                    .await?;
            }
            Ok::<(), SinkError>(())
        };
        let (response, forwarded) = tokio::join!(call, forward);
        forwarded?;
        Ok((response, streamed))
    }

    async fn executor_turn(&mut self, name: &str) -> Result<TranscriptMessage, StepStop> {
        let message_id = new_id();
        let content = match self.pending_code() {
            Some((source_id, blocks)) if !blocks.is_empty() => {
                self.run_blocks(&source_id, &blocks).await?
            }
            _ => format!(
                "No code blocks found {}. Put code to run in a fenced \
                 ```python or ```sh block; when the task is done, reply with {}.",
                match self.team.code_execution.last_n_messages {
                    0 => format!("since {name} last ran code"),
                    n => format!("in the last {n} message(s)"),
                },
                self.team
                    .termination
                    .text_mention
                    .as_deref()
                    .unwrap_or("the termination text")
            ),
        };
        let turn = TranscriptMessage {
            message_id,
            agent: name.to_string(),
            content,
            tokens: 0,
        };
        self.emit_message(&turn).await?;
        Ok(turn)
    }

    /// Runs blocks in order, stopping at the first failure like AutoGen, and returns the
    /// reply the executor agent posts.
    async fn run_blocks(
        &mut self,
        source_id: &str,
        blocks: &[CodeBlock],
    ) -> Result<String, StepStop> {
        let mut outputs = String::new();
        let mut exit_code = 0;
        let mut failure = None;
        for block in blocks {
            self.ctx
                .emitter
                .emit(EventKind::Code {
                    message_id: source_id.to_string(),
                    language: block.language.to_string(),
                    code: block.code.clone(),
                })
                .await?;
            let before = self.workspace_files().await?;
            let result = self.execute(block).await?;
            let files = self.artifacts_since(before).await?;
            self.ctx
                .emitter
                .emit(EventKind::CodeResult {
                    message_id: source_id.to_string(),
                    exit_code: result.exit_code,
                    stdout: result.stdout.clone(),
                    stderr: result.stderr.clone(),
                    duration_ms: result.duration_ms,
                    timed_out: result.timed_out,
                    files,
                })
                .await?;
            outputs.push_str(&result.stdout);
            outputs.push_str(&result.stderr);
            exit_code = result.exit_code;
            if result.exit_code != 0 {
                failure = Some(if result.timed_out {
                    "execution failed: timed out"
                } else {
                    "execution failed"
                });
                break;
            }
        }
        let verdict = failure.unwrap_or("execution succeeded");
        Ok(format!(
            "exitcode: {exit_code} ({verdict})\nCode output: {}",
            outputs.trim_end()
        ))
    }

    async fn execute(&mut self, block: &CodeBlock) -> Result<ExecutionResult, StepStop> {
        let allowed = self
            .team
            .code_execution
            .languages
            .iter()
            .any(|l| Language::from_tag(l) == block.language);
        if !allowed {
            return Ok(refusal(format!(
                "language `{}` is not executed here (allowed: {})",
                block.language,
                self.team.code_execution.languages.join(", ")
            )));
        }
        let Some(executor) = self.ctx.executor.clone() else {
            return Ok(refusal("code execution is off".into()));
        };
        if self.workspace.is_none() {
            match executor
                .open_workspace(&self.ctx.emitter.run_id().to_string())
                .await
            {
                Ok(workspace) => self.workspace = Some(workspace),
                Err(error) => return self.sandbox_failure(error.to_string()).await,
            }
        }
        let Some(workspace) = self.workspace.as_ref() else {
            return Ok(refusal("no workspace".into()));
        };
        match workspace.execute(block, &self.ctx.cancel).await {
            Ok(result) => Ok(result),
            Err(error) => self.sandbox_failure(error.to_string()).await,
        }
    }

    /// The workspace's files before a block: empty when the workspace is not open yet
    /// (it opens with the first block), `None` when it cannot be listed (that block's
    /// artifacts are then not looked for, rather than every file counting as new).
    async fn workspace_files(&self) -> Result<Option<Vec<WorkspaceFile>>, SinkError> {
        let Some(workspace) = self.workspace.as_ref() else {
            return Ok(Some(Vec::new()));
        };
        match workspace.list_files().await {
            Ok(files) => Ok(Some(files)),
            Err(error) => {
                self.warn(format!("cannot list the workspace's files: {error}"))
                    .await?;
                Ok(None)
            }
        }
    }

    /// The files the block just run wrote or changed, each handed to the artifact sink
    /// (when there is one and the file is within its limit) and listed with what became
    /// of it. Failing to keep a file never fails the run.
    async fn artifacts_since(
        &self,
        before: Option<Vec<WorkspaceFile>>,
    ) -> Result<Vec<ArtifactFile>, SinkError> {
        let (Some(before), Some(workspace)) = (before, self.workspace.as_ref()) else {
            return Ok(Vec::new());
        };
        let after = match workspace.list_files().await {
            Ok(files) => files,
            Err(error) => {
                self.warn(format!("cannot list the workspace's files: {error}"))
                    .await?;
                return Ok(Vec::new());
            }
        };
        let changed = changed_files(&before, &after);
        if changed.len() > MAX_ARTIFACTS_PER_BLOCK {
            self.warn(format!(
                "the code wrote {} files; only the first {MAX_ARTIFACTS_PER_BLOCK} are listed",
                changed.len()
            ))
            .await?;
        }
        let mut files = Vec::new();
        for file in changed.into_iter().take(MAX_ARTIFACTS_PER_BLOCK) {
            let content_type = content_type_for(&file.path).to_string();
            let (size_bytes, skipped) = match &self.ctx.artifacts {
                None => (file.size_bytes, Some(ArtifactSkip::NotKept)),
                Some(sink) => {
                    self.keep_artifact(workspace.as_ref(), sink.as_ref(), file, &content_type)
                        .await
                }
            };
            files.push(ArtifactFile {
                path: file.path.clone(),
                size_bytes,
                content_type,
                stored: skipped.is_none(),
                skipped,
            });
        }
        Ok(files)
    }

    /// Reads one artifact (never more than the sink keeps) and hands it to the sink:
    /// its size as read, and why it was not kept, if it was not.
    async fn keep_artifact(
        &self,
        workspace: &dyn CodeWorkspace,
        sink: &dyn ArtifactSink,
        file: &WorkspaceFile,
        content_type: &str,
    ) -> (u64, Option<ArtifactSkip>) {
        let limit = sink.max_file_bytes();
        if file.size_bytes > limit {
            return (file.size_bytes, Some(ArtifactSkip::TooLarge));
        }
        let content = match workspace.read_file(&file.path, limit).await {
            Ok(content) => content,
            Err(ExecError::FileTooLarge { .. }) => {
                return (file.size_bytes, Some(ArtifactSkip::TooLarge));
            }
            Err(error) => {
                tracing::debug!(%error, path = %file.path, "artifact unreadable");
                return (file.size_bytes, Some(ArtifactSkip::Unreadable));
            }
        };
        let size = content.len() as u64;
        let artifact = Artifact {
            path: file.path.clone(),
            content_type: content_type.to_string(),
            content,
        };
        match sink.keep(self.ctx.emitter.run_id(), artifact).await {
            Ok(Kept::Stored) => (size, None),
            Ok(Kept::RunQuotaExceeded) => (size, Some(ArtifactSkip::RunQuotaExceeded)),
            Err(error) => {
                tracing::warn!(%error, path = %file.path, "artifact not kept");
                (size, Some(ArtifactSkip::StorageFailed))
            }
        }
    }

    async fn warn(&self, message: String) -> Result<(), SinkError> {
        self.ctx
            .emitter
            .emit(EventKind::Log {
                level: LogLevel::Warn,
                message,
            })
            .await
            .map(|_| ())
    }

    /// A sandbox that cannot run a block is reported to the agents (and the user) as a
    /// failed execution; the chat goes on.
    async fn sandbox_failure(&self, message: String) -> Result<ExecutionResult, StepStop> {
        self.warn(message.clone()).await?;
        Ok(refusal(message))
    }

    /// The most recent turn with code since the executor last spoke, within the last
    /// `last_n_messages` turns (all of them for 0, AutoGen's `"auto"`).
    fn pending_code(&self) -> Option<(String, Vec<CodeBlock>)> {
        let executor = &self.team.code_execution.executor_name;
        let window = match self.team.code_execution.last_n_messages {
            0 => usize::MAX,
            n => n,
        };
        // Code is pending only if the executor has not spoken since it was written.
        self.transcript
            .iter()
            .rev()
            .take_while(|turn| &turn.agent != executor)
            .take(window)
            .map(|turn| (turn.message_id.clone(), runnable_code_blocks(&turn.content)))
            .find(|(_, blocks)| !blocks.is_empty())
    }

    fn coding_enabled(&self) -> bool {
        self.team.code_execution.enabled
    }

    fn last_turn_terminates(&self) -> bool {
        self.transcript.last().is_some_and(|turn| {
            turn.agent != self.team.code_execution.executor_name
                && turn.agent != self.team.admin_name
                && mentions_termination(&self.team.termination, &turn.content)
        })
    }

    async fn account(&mut self, model: &str, usage: &Usage) -> Result<(), SinkError> {
        self.usage.add(usage);
        self.ctx
            .emitter
            .emit(EventKind::Usage {
                model: model.to_string(),
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
                cost_usd: usage.cost_usd,
            })
            .await
            .map(|_| ())
    }

    async fn emit_message(&self, turn: &TranscriptMessage) -> Result<(), SinkError> {
        self.ctx
            .emitter
            .emit(EventKind::Message {
                message_id: turn.message_id.clone(),
                agent: turn.agent.clone(),
                content: turn.content.clone(),
                tokens: turn.tokens,
            })
            .await
            .map(|_| ())
    }

    /// The last agent message, without the termination text.
    fn summary(&self) -> String {
        let executor = &self.team.code_execution.executor_name;
        let marker = self
            .team
            .termination
            .text_mention
            .as_deref()
            .unwrap_or_default();
        self.transcript
            .iter()
            .rev()
            .filter(|turn| &turn.agent != executor && turn.agent != self.team.admin_name)
            .map(|turn| {
                if marker.is_empty() {
                    turn.content.trim().to_string()
                } else {
                    turn.content.replace(marker, "").trim().to_string()
                }
            })
            .find(|content| !content.is_empty())
            .unwrap_or_default()
    }
}

/// A tool call's arguments as the object MCP expects; empty text is no arguments.
fn parse_tool_arguments(raw: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    if raw.trim().is_empty() {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_str(raw) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!("got {other}")),
        Err(error) => Err(error.to_string()),
    }
}

fn refusal(message: String) -> ExecutionResult {
    ExecutionResult {
        exit_code: 1,
        stdout: String::new(),
        stderr: message,
        duration_ms: 0,
        timed_out: false,
        killed: false,
        truncated: false,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// A fresh message id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
