//! Group chat behaviour through the public API, with a fake model (the LLM boundary)
//! and a fake executor (the sandbox boundary).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cadre_core::FailureCode;
use cadre_core::artifact::{ArtifactFile, ArtifactSkip, MemoryArtifacts};
use cadre_core::event::{EventKind, MemorySink, RunEmitter, RunEvent, RunStatus};
use cadre_core::executor::{
    CodeBlock, CodeExecutor, CodeWorkspace, ExecError, ExecutionResult, ExecutorInfo, WorkspaceFile,
};
use cadre_core::groupchat::RunContext;
use cadre_core::input::{InputError, InputSource, NoInput};
use cadre_core::model::{
    ChatModel, ChatRequest, ChatResponse, DeltaSink, ModelError, Purpose, Usage,
};
use cadre_core::run::{ResumeState, RunOverrides, RunRequest, TeamSource, execute_run};
use cadre_core::team::{AgentSpec, SpeakerSelection, TeamSpec};
use cadre_core::{GroupChat, TranscriptMessage};
use tokio_util::sync::CancellationToken;

/// The run id of every test run.
const RUN_ID: uuid::Uuid = uuid::Uuid::from_u128(1);

type Answer = Box<dyn Fn(&ChatRequest, usize) -> Result<String, ModelError> + Send + Sync>;

/// Answers through a closure given the request and how many calls came before.
struct FakeModel {
    answer: Answer,
    calls: Mutex<Vec<ChatRequest>>,
    delay: Duration,
}

impl FakeModel {
    fn new(
        answer: impl Fn(&ChatRequest, usize) -> Result<String, ModelError> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            answer: Box::new(answer),
            calls: Mutex::new(vec![]),
            delay: Duration::ZERO,
        })
    }
    fn slow(
        answer: impl Fn(&ChatRequest, usize) -> Result<String, ModelError> + Send + Sync + 'static,
        delay: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            answer: Box::new(answer),
            calls: Mutex::new(vec![]),
            delay,
        })
    }
    fn calls(&self) -> Vec<ChatRequest> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl ChatModel for FakeModel {
    fn model_name(&self) -> &str {
        "fake"
    }
    async fn chat(
        &self,
        request: ChatRequest,
        on_delta: DeltaSink<'_>,
        cancel: &CancellationToken,
    ) -> Result<ChatResponse, ModelError> {
        let index = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(request.clone());
            calls.len() - 1
        };
        tokio::select! {
            () = cancel.cancelled() => return Err(ModelError::Cancelled),
            () = tokio::time::sleep(self.delay) => {}
        }
        let content = (self.answer)(&request, index)?;
        for piece in content.split_inclusive(' ') {
            on_delta(piece);
        }
        Ok(ChatResponse {
            model: "fake".into(),
            content: content.clone(),
            tool_calls: vec![],
            usage: Usage {
                prompt_tokens: 10,
                completion_tokens: 5,
                cost_usd: Some(0.01),
            },
            finish_reason: None,
        })
    }
}

/// A workspace's files: path → (content, the write that last changed it).
type FakeFiles = Arc<Mutex<std::collections::BTreeMap<String, (Vec<u8>, u64)>>>;

/// Runs nothing; answers every block with "ran: <code>" and remembers blocks and closes.
/// A line `write <path> <content>` of a block writes a file into the workspace.
#[derive(Default)]
struct FakeExecutor {
    blocks: Arc<Mutex<Vec<CodeBlock>>>,
    closed: Arc<Mutex<u32>>,
    fail_with: Option<ExecError>,
    files: FakeFiles,
}

struct FakeWorkspace {
    blocks: Arc<Mutex<Vec<CodeBlock>>>,
    closed: Arc<Mutex<u32>>,
    fail_with: Option<ExecError>,
    files: FakeFiles,
}

#[async_trait]
impl CodeExecutor for FakeExecutor {
    fn info(&self) -> ExecutorInfo {
        ExecutorInfo {
            backend: "fake".into(),
            enforced: vec![],
        }
    }
    async fn open_workspace(&self, _run_id: &str) -> Result<Box<dyn CodeWorkspace>, ExecError> {
        Ok(Box::new(FakeWorkspace {
            blocks: self.blocks.clone(),
            closed: self.closed.clone(),
            fail_with: self.fail_with.clone(),
            files: self.files.clone(),
        }))
    }
}

#[async_trait]
impl CodeWorkspace for FakeWorkspace {
    async fn execute(
        &self,
        block: &CodeBlock,
        _cancel: &CancellationToken,
    ) -> Result<ExecutionResult, ExecError> {
        self.blocks.lock().unwrap().push(block.clone());
        if let Some(error) = &self.fail_with {
            return Err(error.clone());
        }
        {
            let mut files = self.files.lock().unwrap();
            for line in block.code.lines() {
                if let Some((path, content)) =
                    line.strip_prefix("write ").and_then(|l| l.split_once(' '))
                {
                    let version =
                        files.len() as u64 + 1_000 * self.blocks.lock().unwrap().len() as u64;
                    files.insert(path.into(), (content.as_bytes().to_vec(), version));
                }
            }
        }
        let failed = block.code.contains("raise");
        Ok(ExecutionResult {
            exit_code: i32::from(failed),
            stdout: format!("ran: {}\n", block.code),
            stderr: if failed {
                "Traceback: boom\n".into()
            } else {
                String::new()
            },
            duration_ms: 3,
            timed_out: false,
            killed: false,
            truncated: false,
        })
    }
    async fn list_files(&self) -> Result<Vec<WorkspaceFile>, ExecError> {
        Ok(self
            .files
            .lock()
            .unwrap()
            .iter()
            .map(|(path, (content, version))| WorkspaceFile {
                path: path.clone(),
                size_bytes: content.len() as u64,
                modified: std::time::UNIX_EPOCH + Duration::from_secs(*version),
            })
            .collect())
    }
    async fn read_file(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, ExecError> {
        let files = self.files.lock().unwrap();
        let (content, _) = files
            .get(path)
            .ok_or_else(|| ExecError::Workspace(format!("no {path}")))?;
        if content.len() as u64 > max_bytes {
            return Err(ExecError::FileTooLarge {
                path: path.into(),
                limit: max_bytes,
            });
        }
        Ok(content.clone())
    }
    async fn close(self: Box<Self>) -> Result<(), ExecError> {
        *self.closed.lock().unwrap() += 1;
        Ok(())
    }
}

fn agent(name: &str) -> AgentSpec {
    AgentSpec::new(
        name,
        format!("You are {name}."),
        format!("{name} does {name} things"),
    )
}

fn team(names: &[&str], selection: SpeakerSelection) -> TeamSpec {
    let mut team = TeamSpec::new("test", names.iter().map(|n| agent(n)).collect());
    team.speaker_selection = selection;
    team
}

fn context(
    model: Arc<dyn ChatModel>,
    executor: Option<Arc<dyn CodeExecutor>>,
    sink: &MemorySink,
) -> RunContext {
    RunContext {
        emitter: RunEmitter::new(RUN_ID, Arc::new(sink.clone()), 0),
        model,
        executor,
        artifacts: None,
        input: Arc::new(NoInput),
        tools: None,
        cancel: CancellationToken::new(),
    }
}

fn given(team: TeamSpec) -> RunRequest {
    RunRequest {
        task: "do it".into(),
        team: TeamSource::Given(Box::new(team)),
        overrides: RunOverrides::default(),
        build_only: false,
    }
}

fn speakers(events: &[RunEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message { agent, .. } => Some(agent.clone()),
            _ => None,
        })
        .collect()
}

fn statuses(events: &[RunEvent]) -> Vec<RunStatus> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Status { status } => Some(*status),
            _ => None,
        })
        .collect()
}

fn assert_well_formed(events: &[RunEvent]) {
    let durable: Vec<u64> = events
        .iter()
        .filter(|e| e.kind.is_durable())
        .map(|e| e.seq)
        .collect();
    let expected: Vec<u64> = (1..=durable.len() as u64).collect();
    assert_eq!(
        durable, expected,
        "durable events are numbered 1..n without gaps"
    );
    assert!(
        matches!(
            events.last().map(|e| &e.kind),
            Some(EventKind::Finished { .. })
        ),
        "finished comes last"
    );
    let (prompt, completion, calls) = events.iter().fold((0, 0, 0), |(p, c, n), e| match &e.kind {
        EventKind::Usage {
            prompt_tokens,
            completion_tokens,
            ..
        } => (p + prompt_tokens, c + completion_tokens, n + 1),
        _ => (p, c, n),
    });
    let Some(EventKind::Finished { usage, .. }) = events.last().map(|e| &e.kind) else {
        unreachable!()
    };
    assert_eq!(
        (usage.prompt_tokens, usage.completion_tokens, usage.calls),
        (prompt, completion, calls),
        "finished totals = usage events"
    );
}

fn agent_of(request: &ChatRequest) -> String {
    match &request.purpose {
        Purpose::AgentReply { agent } => agent.clone(),
        other => panic!("unexpected call {other:?}"),
    }
}

#[tokio::test]
async fn round_robin_runs_until_terminate() {
    let model = FakeModel::new(|req, i| {
        Ok(if i == 3 {
            "done TERMINATE".into()
        } else {
            format!("turn {i} by {}", agent_of(req))
        })
    });
    let sink = MemorySink::new();
    let outcome = execute_run(
        given(team(&["A", "B"], SpeakerSelection::RoundRobin)),
        context(model.clone(), None, &sink),
        None,
    )
    .await
    .unwrap();
    let events = sink.events();
    assert_well_formed(&events);
    assert_eq!(outcome.status, RunStatus::Completed);
    assert_eq!(speakers(&events), vec!["User", "A", "B", "A", "B"]);
    assert_eq!(
        statuses(&events),
        vec![RunStatus::Executing, RunStatus::Completed]
    );
    assert_eq!(outcome.summary, "done");
    assert_eq!(outcome.usage.calls, 4);
    assert_eq!(outcome.usage.prompt_tokens, 40);
    // Each agent sees its own turns as assistant messages and the others' as user messages.
    let last = model.calls().pop().unwrap();
    let system = &last.messages[0].content;
    assert!(
        system.starts_with("You are B.") && system.contains("reply with TERMINATE"),
        "{system}"
    );
    assert!(
        !system.contains("Computer_terminal"),
        "no coding rules when code is off"
    );
    assert_eq!(last.messages[1].content, "do it");
    assert_eq!(last.messages[3].role, cadre_core::Role::Assistant);
    // Deltas stream before each message and reassemble it.
    let deltas: String = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::MessageDelta { delta, .. } => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    assert!(deltas.starts_with("turn 0 by A"), "{deltas}");
}

#[tokio::test]
async fn code_is_executed_by_the_executor_and_reported_back() {
    let model = FakeModel::new(|req, _| {
        let seen = req
            .messages
            .iter()
            .any(|m| m.content.starts_with("exitcode: 0"));
        Ok(if seen {
            "The output was right. TERMINATE".into()
        } else {
            "```python\nprint(42)\n```".into()
        })
    });
    let executor = Arc::new(FakeExecutor::default());
    let mut team = team(&["Coder", "Critic"], SpeakerSelection::Auto);
    team.code_execution.enabled = true;
    // Only one non-executor candidate would remain if Critic were missing; with two, auto
    // asks the model, which this fake answers via agent_of → so pick by purpose.
    let model: Arc<FakeModel> = FakeModel::new(move |req, i| match &req.purpose {
        Purpose::SelectSpeaker { .. } => Ok(if i == 0 {
            "Coder".into()
        } else {
            "Critic".into()
        }),
        _ => (model.answer)(req, i),
    });
    let sink = MemorySink::new();
    let outcome = execute_run(
        given(team),
        context(model, Some(executor.clone()), &sink),
        None,
    )
    .await
    .unwrap();
    let events = sink.events();
    assert_well_formed(&events);
    assert_eq!(outcome.status, RunStatus::Completed, "{outcome:?}");
    assert_eq!(
        speakers(&events),
        vec!["User", "Coder", "Computer_terminal", "Critic"]
    );
    let result = events.iter().find_map(|e| match &e.kind {
        EventKind::CodeResult {
            exit_code, stdout, ..
        } => Some((*exit_code, stdout.clone())),
        _ => None,
    });
    assert_eq!(result, Some((0, "ran: print(42)\n".into())));
    let executor_message = events.iter().find_map(|e| match &e.kind {
        EventKind::Message { agent, content, .. } if agent == "Computer_terminal" => {
            Some(content.clone())
        }
        _ => None,
    });
    assert_eq!(
        executor_message.unwrap(),
        "exitcode: 0 (execution succeeded)\nCode output: ran: print(42)"
    );
    assert_eq!(
        *executor.closed.lock().unwrap(),
        1,
        "workspace removed at the end"
    );
    let speaker_reason = events.iter().find_map(|e| match &e.kind {
        EventKind::Speaker { agent, reason } if agent == "Computer_terminal" => {
            Some(reason.clone())
        }
        _ => None,
    });
    assert_eq!(speaker_reason.as_deref(), Some("code to execute"));
}

#[tokio::test]
async fn failing_blocks_stop_the_batch_and_sandbox_errors_do_not_stop_the_run() {
    let mut coding_team = team(&["A"], SpeakerSelection::RoundRobin);
    coding_team.code_execution.enabled = true;
    let model = FakeModel::new(|_, i| {
        Ok(if i == 0 {
            "```python\nraise SystemExit\n```\n```python\nprint('never')\n```".into()
        } else {
            "noted TERMINATE".into()
        })
    });
    let executor = Arc::new(FakeExecutor::default());
    let sink = MemorySink::new();
    execute_run(
        given(coding_team.clone()),
        context(model, Some(executor.clone()), &sink),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        speakers(&sink.events()),
        vec!["User", "A", "Computer_terminal", "A"]
    );
    assert_eq!(
        executor.blocks.lock().unwrap().len(),
        1,
        "the block after a failure is not run"
    );
    let reply = sink.events().iter().find_map(|e| match &e.kind {
        EventKind::Message { agent, content, .. } if agent == "Computer_terminal" => {
            Some(content.clone())
        }
        _ => None,
    });
    assert!(reply.unwrap().starts_with("exitcode: 1 (execution failed)"));

    // A sandbox that cannot run at all is reported to the agents; the chat continues.
    let model = FakeModel::new(|_, i| {
        Ok(if i == 0 {
            "```sh\necho hi\n```".into()
        } else {
            "ok TERMINATE".into()
        })
    });
    let broken = Arc::new(FakeExecutor {
        fail_with: Some(ExecError::Unavailable("no bwrap".into())),
        ..FakeExecutor::default()
    });
    let sink = MemorySink::new();
    let outcome = execute_run(
        given(coding_team),
        context(model, Some(broken), &sink),
        None,
    )
    .await
    .unwrap();
    assert_eq!(outcome.status, RunStatus::Completed);
    let events = sink.events();
    assert!(events.iter().any(
        |e| matches!(&e.kind, EventKind::Log { message, .. } if message.contains("no bwrap"))
    ));
    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::Message { agent, content, .. } if agent == "Computer_terminal" && content.contains("no bwrap"))));
    assert_eq!(
        speakers(&events),
        vec!["User", "A", "Computer_terminal", "A"]
    );
}

#[tokio::test]
async fn auto_selection_reasks_then_falls_back() {
    let model = FakeModel::new(|req, _| match &req.purpose {
        Purpose::SelectSpeaker { .. } => Ok("Either A or B could go".into()),
        Purpose::AgentReply { agent } => Ok(format!("{agent} says TERMINATE")),
        other => panic!("{other:?}"),
    });
    let sink = MemorySink::new();
    let outcome = execute_run(
        given(team(&["A", "B"], SpeakerSelection::Auto)),
        context(model.clone(), None, &sink),
        None,
    )
    .await
    .unwrap();
    assert_eq!(outcome.status, RunStatus::Completed);
    let selections = model
        .calls()
        .iter()
        .filter(|c| matches!(c.purpose, Purpose::SelectSpeaker { .. }))
        .count();
    assert_eq!(selections, 3, "first ask plus two re-asks");
    let events = sink.events();
    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::Speaker { agent, reason } if agent == "A" && reason.starts_with("fallback"))));
    assert!(events.iter().any(
        |e| matches!(&e.kind, EventKind::Log { message, .. } if message.contains("2 participants"))
    ));
    // The re-ask tells the model what was wrong.
    let last_select = model
        .calls()
        .into_iter()
        .rfind(|c| matches!(c.purpose, Purpose::SelectSpeaker { .. }))
        .unwrap();
    assert!(
        last_select
            .messages
            .last()
            .unwrap()
            .content
            .contains("name exactly one")
    );
}

#[tokio::test]
async fn limits_end_the_chat() {
    let chatty = || FakeModel::new(|req, _| Ok(format!("{} talks", agent_of(req))));
    let sink = MemorySink::new();
    let mut request = given(team(&["A", "B"], SpeakerSelection::RoundRobin));
    request.overrides.max_round = Some(4);
    let outcome = execute_run(request.clone(), context(chatty(), None, &sink), None)
        .await
        .unwrap();
    assert_eq!(
        (outcome.status, outcome.reason.as_str()),
        (RunStatus::Completed, "max_round")
    );
    assert_eq!(
        speakers(&sink.events()).len(),
        4,
        "max_round counts the task message"
    );

    request.overrides.max_round = Some(100);
    request.overrides.max_tokens = Some(31);
    let outcome = execute_run(
        request.clone(),
        context(chatty(), None, &MemorySink::new()),
        None,
    )
    .await
    .unwrap();
    assert_eq!(outcome.reason.as_str(), "token_budget");
    assert_eq!(
        outcome.usage.calls, 3,
        "15 tokens a call: stops once 31 are reached"
    );

    request.overrides.max_tokens = None;
    request.overrides.max_cost_usd = Some(0.02);
    let outcome = execute_run(request, context(chatty(), None, &MemorySink::new()), None)
        .await
        .unwrap();
    assert_eq!(outcome.reason.as_str(), "cost_budget");
    assert_eq!(outcome.usage.calls, 2);
}

#[tokio::test]
async fn timeout_fails_and_cancel_stops_within_a_step() {
    let slow = || FakeModel::slow(|_, _| Ok("slow".into()), Duration::from_secs(30));
    let mut request = given(team(&["A", "B"], SpeakerSelection::RoundRobin));
    request.overrides.timeout_secs = Some(1);
    let sink = MemorySink::new();
    let started = std::time::Instant::now();
    let outcome = execute_run(request, context(slow(), None, &sink), None)
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        (outcome.status, outcome.reason.as_str()),
        (RunStatus::Failed, "timeout")
    );
    assert!(sink.events().iter().any(
        |e| matches!(&e.kind, EventKind::Error { code, .. } if *code == FailureCode::Timeout)
    ));

    let sink = MemorySink::new();
    let ctx = context(slow(), None, &sink);
    let cancel = ctx.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = std::time::Instant::now();
    let outcome = execute_run(given(team(&["A"], SpeakerSelection::RoundRobin)), ctx, None)
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "cancel reaches the running step"
    );
    assert_eq!(outcome.status, RunStatus::Cancelled);
    assert_well_formed(&sink.events());
}

#[tokio::test]
async fn model_failure_fails_the_run_with_an_error_event() {
    let model = FakeModel::new(|_, _| {
        Err(ModelError::Provider {
            status: Some(404),
            message: "model `nope` not found".into(),
            retryable: false,
        })
    });
    let sink = MemorySink::new();
    let outcome = execute_run(
        given(team(&["A"], SpeakerSelection::RoundRobin)),
        context(model, None, &sink),
        None,
    )
    .await
    .unwrap();
    assert_eq!(outcome.status, RunStatus::Failed);
    let events = sink.events();
    assert_well_formed(&events);
    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::Error { code, message, .. } if *code == FailureCode::LlmProviderError && message.contains("model `nope` not found"))));
}

#[tokio::test]
async fn a_failed_build_still_reports_what_it_cost() {
    let model = FakeModel::new(|_, _| Ok("no names here, sorry".into()));
    let sink = MemorySink::new();
    let request = RunRequest {
        task: "do it".into(),
        team: TeamSource::Build(cadre_core::BuildOptions::default()),
        overrides: RunOverrides::default(),
        build_only: false,
    };
    let outcome = execute_run(request, context(model, None, &sink), None)
        .await
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(outcome.usage.calls, 3, "first ask and two re-asks");
    assert_well_formed(&sink.events());
}

#[tokio::test]
async fn resume_continues_without_repeating_turns() {
    let answer = |req: &ChatRequest, _| {
        let turns = req.messages.len() - 1;
        Ok(if turns >= 5 {
            "finished TERMINATE".to_string()
        } else {
            format!("{} turn {turns}", agent_of(req))
        })
    };
    let full_sink = MemorySink::new();
    let full = execute_run(
        given(team(&["A", "B"], SpeakerSelection::RoundRobin)),
        context(FakeModel::new(answer), None, &full_sink),
        None,
    )
    .await
    .unwrap();
    let all: Vec<TranscriptMessage> = full_sink
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message {
                message_id,
                agent,
                content,
                tokens,
            } => Some(TranscriptMessage {
                message_id: message_id.clone(),
                agent: agent.clone(),
                content: content.clone(),
                tokens: *tokens,
            }),
            _ => None,
        })
        .collect();
    assert_eq!(all.len(), 6);

    // A second worker picks the run up after three persisted turns.
    let resumed_sink = MemorySink::new();
    let model = FakeModel::new(answer);
    let mut ctx = context(model.clone(), None, &resumed_sink);
    ctx.emitter = RunEmitter::new(RUN_ID, Arc::new(resumed_sink.clone()), 40);
    let state = ResumeState {
        team: full.team.clone(),
        transcript: all[..3].to_vec(),
        usage: Default::default(),
    };
    let outcome = execute_run(
        given(team(&["A", "B"], SpeakerSelection::RoundRobin)),
        ctx,
        Some(state),
    )
    .await
    .unwrap();
    assert_eq!(outcome.status, RunStatus::Completed);
    let events = resumed_sink.events();
    let contents: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message { content, .. } => Some(content.clone()),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = all[3..].iter().map(|m| m.content.clone()).collect();
    assert_eq!(contents, expected, "only the missing turns are produced");
    assert_eq!(model.calls().len(), 3);
    assert_eq!(
        events.first().unwrap().seq,
        41,
        "numbering continues after the stored events"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Team { .. })),
        "team is not announced twice"
    );
}

#[tokio::test]
async fn graph_transitions_are_respected() {
    let model = FakeModel::new(|req, i| match &req.purpose {
        Purpose::SelectSpeaker { candidates } => Ok(candidates.last().unwrap().clone()),
        Purpose::AgentReply { agent } => Ok(if i > 6 {
            "TERMINATE".into()
        } else {
            format!("{agent} here")
        }),
        other => panic!("{other:?}"),
    });
    let selection = SpeakerSelection::Graph {
        transitions: [
            ("User".to_string(), vec!["A".to_string()]),
            ("A".to_string(), vec!["B".to_string(), "C".to_string()]),
            ("B".to_string(), vec!["A".to_string()]),
            ("C".to_string(), vec!["A".to_string()]),
        ]
        .into(),
    };
    let sink = MemorySink::new();
    let outcome = execute_run(
        given(team(&["A", "B", "C"], selection)),
        context(model.clone(), None, &sink),
        None,
    )
    .await
    .unwrap();
    assert_eq!(outcome.status, RunStatus::Completed);
    let order = speakers(&sink.events());
    assert_eq!(&order[..5], &["User", "A", "C", "A", "C"]);
    // The model is only asked when more than one transition is allowed, and only offered those.
    for call in model.calls() {
        if let Purpose::SelectSpeaker { candidates } = call.purpose {
            assert_eq!(candidates, vec!["B", "C"]);
        }
    }
}

struct Answers(Mutex<Vec<&'static str>>);

#[async_trait]
impl InputSource for Answers {
    async fn ask(&self, _prompt: &str, _cancel: &CancellationToken) -> Result<String, InputError> {
        self.0
            .lock()
            .unwrap()
            .pop()
            .map(str::to_string)
            .ok_or(InputError::Unavailable("no more".into()))
    }
}

#[tokio::test]
async fn manual_selection_asks_the_human() {
    let model = FakeModel::new(|req, _| Ok(format!("{} TERMINATE", agent_of(req))));
    let sink = MemorySink::new();
    let mut ctx = context(model, None, &sink);
    // Popped from the end: first an invalid answer, then "2" (B).
    ctx.input = Arc::new(Answers(Mutex::new(vec!["2", "nobody"])));
    let outcome = execute_run(
        given(team(&["A", "B"], SpeakerSelection::Manual)),
        ctx,
        None,
    )
    .await
    .unwrap();
    assert_eq!(outcome.status, RunStatus::Completed);
    let events = sink.events();
    assert_eq!(speakers(&events), vec!["User", "B"]);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::InputRequest { .. }))
            .count(),
        2
    );
    assert!(statuses(&events).contains(&RunStatus::WaitingInput));
}

/// An input source that never answers (a human who walked away).
struct Silent;

#[async_trait]
impl InputSource for Silent {
    async fn ask(&self, _prompt: &str, cancel: &CancellationToken) -> Result<String, InputError> {
        cancel.cancelled().await;
        Err(InputError::Cancelled)
    }
}

/// A round robin of the model's `A` and the human-driven `Human`, three turns after the
/// task.
fn human_team(timeout_secs: u64) -> RunRequest {
    let mut human = agent("Human");
    human.human_input = Some(cadre_core::HumanInput {
        timeout_secs,
        default_reply: "Go on without me.".into(),
    });
    let mut team = TeamSpec::new("pair", vec![agent("A"), human]);
    team.speaker_selection = SpeakerSelection::RoundRobin;
    let mut request = given(team);
    request.overrides.max_round = Some(4);
    request
}

fn contents(events: &[RunEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message { agent, content, .. } => Some((agent.clone(), content.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_human_driven_agent_speaks_with_the_users_words_and_no_model_call() {
    let model = FakeModel::new(|req, _| Ok(format!("{} talks", agent_of(req))));
    let sink = MemorySink::new();
    let mut ctx = context(model.clone(), None, &sink);
    ctx.input = Arc::new(Answers(Mutex::new(vec!["Try primes instead."])));
    let outcome = execute_run(human_team(60), ctx, None).await.unwrap();
    assert_eq!(outcome.status, RunStatus::Completed);
    let events = sink.events();
    assert_eq!(
        contents(&events),
        vec![
            ("User".to_string(), "do it".to_string()),
            ("A".to_string(), "A talks".to_string()),
            ("Human".to_string(), "Try primes instead.".to_string()),
            ("A".to_string(), "A talks".to_string()),
        ]
    );
    let request = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::InputRequest {
                agent,
                timeout_secs,
                default,
                options,
                ..
            } => Some((agent.clone(), *timeout_secs, default.clone(), options.len())),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        request,
        (
            Some("Human".into()),
            Some(60),
            Some("Go on without me.".into()),
            0
        )
    );
    assert!(statuses(&events).contains(&RunStatus::WaitingInput));
    // The model answered A's two turns only.
    assert!(
        model
            .calls()
            .iter()
            .all(|call| call.purpose == Purpose::AgentReply { agent: "A".into() }),
        "{:?}",
        model.calls()
    );
}

#[tokio::test(start_paused = true)]
async fn a_human_who_does_not_answer_in_time_gets_the_default_reply() {
    let model = FakeModel::new(|req, _| Ok(format!("{} talks", agent_of(req))));
    let sink = MemorySink::new();
    let mut ctx = context(model, None, &sink);
    ctx.input = Arc::new(Silent);
    let outcome = execute_run(human_team(30), ctx, None).await.unwrap();
    assert_eq!(outcome.status, RunStatus::Completed);
    let events = sink.events();
    assert_eq!(
        contents(&events)[2],
        ("Human".to_string(), "Go on without me.".to_string())
    );
    assert!(events.iter().any(|e| matches!(&e.kind,
        EventKind::Log { message, .. } if message.contains("no answer for Human within 30 s"))));
    // A non-interactive run takes the default at once, saying why.
    let sink = MemorySink::new();
    let model = FakeModel::new(|req, _| Ok(format!("{} talks", agent_of(req))));
    let outcome = execute_run(human_team(30), context(model, None, &sink), None)
        .await
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Completed);
    assert_eq!(contents(&sink.events())[2].1, "Go on without me.");
}

#[test]
fn a_human_timeout_out_of_range_is_refused() {
    let mut team = TeamSpec::new("t", vec![agent("A")]);
    team.agents[0].human_input = Some(cadre_core::HumanInput {
        timeout_secs: 0,
        default_reply: String::new(),
    });
    assert_eq!(
        team.validate(),
        Err(cadre_core::team::TeamError::InvalidHumanInput("A".into()))
    );
}

#[tokio::test]
async fn random_selection_is_reproducible_with_a_seed() {
    let run = || async {
        let model = FakeModel::new(|req, _| Ok(format!("{} talks", agent_of(req))));
        let sink = MemorySink::new();
        let mut request = given(team(
            &["A", "B", "C"],
            SpeakerSelection::Random { seed: Some(42) },
        ));
        request.overrides.max_round = Some(12);
        execute_run(request, context(model, None, &sink), None)
            .await
            .unwrap();
        speakers(&sink.events())
    };
    let first = run().await;
    assert_eq!(first, run().await);
    let distinct: std::collections::HashSet<_> = first[1..].iter().collect();
    assert!(distinct.len() > 1, "{first:?}");
}

#[tokio::test]
async fn group_chat_direct_use_emits_no_framing() {
    let model = FakeModel::new(|_, _| Ok("TERMINATE".into()));
    let sink = MemorySink::new();
    let chat = GroupChat::new(
        team(&["A"], SpeakerSelection::RoundRobin),
        context(model, None, &sink),
    );
    let outcome = chat.run("task", vec![]).await.unwrap();
    assert_eq!(outcome.transcript.len(), 2);
    assert!(
        !sink
            .events()
            .iter()
            .any(|e| matches!(e.kind, EventKind::Finished { .. }))
    );
}

#[tokio::test]
async fn executor_finds_code_written_before_the_last_turn() {
    // Round robin A, B, Computer_terminal: A writes code, B only comments.
    let model = FakeModel::new(|req, _| {
        let ran = req
            .messages
            .iter()
            .any(|m| m.content.starts_with("exitcode: 0"));
        Ok(match (agent_of(req).as_str(), ran) {
            (_, true) => "checked TERMINATE".into(),
            ("A", false) => "```python\nprint(7)\n```".into(),
            _ => "let us run it".into(),
        })
    });
    let executor = Arc::new(FakeExecutor::default());
    let mut auto_window = team(&["A", "B"], SpeakerSelection::RoundRobin);
    auto_window.code_execution.enabled = true;
    let sink = MemorySink::new();
    execute_run(
        given(auto_window.clone()),
        context(model.clone(), Some(executor.clone()), &sink),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        executor.blocks.lock().unwrap().len(),
        1,
        "auto window reaches A's code"
    );

    // With AutoGen's classic window of one message, B's comment hides the code.
    let mut one = auto_window;
    one.code_execution.last_n_messages = 1;
    one.termination.max_round = Some(5);
    let executor = Arc::new(FakeExecutor::default());
    execute_run(
        given(one),
        context(model, Some(executor.clone()), &MemorySink::new()),
        None,
    )
    .await
    .unwrap();
    assert!(executor.blocks.lock().unwrap().is_empty());
}

#[tokio::test]
async fn files_a_block_writes_are_kept_and_listed_in_its_result() {
    let model = FakeModel::new(|req, _| {
        let seen = req
            .messages
            .iter()
            .any(|m| m.content.starts_with("exitcode: 0"));
        Ok(if seen {
            "Files written. TERMINATE".into()
        } else {
            "```python\nwrite data.csv 1,2\nwrite big.bin 0123456789abcdefXYZ\n```\n\
             ```python\nwrite plot.png PNG!\nwrite extra.txt 0123456789\n```"
                .into()
        })
    });
    let executor = Arc::new(FakeExecutor::default());
    let mut team = team(&["Coder", "Critic"], SpeakerSelection::RoundRobin);
    team.code_execution.enabled = true;
    let sink = MemorySink::new();
    let artifacts = MemoryArtifacts::new(16, 12);
    let mut ctx = context(model, Some(executor.clone()), &sink);
    ctx.artifacts = Some(Arc::new(artifacts.clone()));
    let outcome = execute_run(given(team), ctx, None).await.unwrap();
    let events = sink.events();
    assert_well_formed(&events);
    assert_eq!(outcome.status, RunStatus::Completed, "{outcome:?}");
    let results: Vec<Vec<ArtifactFile>> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CodeResult { files, .. } => Some(files.clone()),
            _ => None,
        })
        .collect();
    let file =
        |path: &str, size: u64, content_type: &str, skipped: Option<ArtifactSkip>| ArtifactFile {
            path: path.into(),
            size_bytes: size,
            content_type: content_type.into(),
            stored: skipped.is_none(),
            skipped,
        };
    assert_eq!(
        results,
        vec![
            vec![
                file(
                    "big.bin",
                    19,
                    "application/octet-stream",
                    Some(ArtifactSkip::TooLarge)
                ),
                file("data.csv", 3, "text/csv", None),
            ],
            // data.csv did not change in the second block, so it is not listed again.
            vec![
                // Within the file limit, but over what the run may keep in all.
                file(
                    "extra.txt",
                    10,
                    "text/plain",
                    Some(ArtifactSkip::RunQuotaExceeded)
                ),
                file("plot.png", 4, "image/png", None),
            ],
        ]
    );
    assert_eq!(artifacts.paths(RUN_ID), ["data.csv", "plot.png"]);
    assert_eq!(artifacts.get(RUN_ID, "plot.png").unwrap().content, b"PNG!");
}

#[tokio::test]
async fn without_an_artifact_sink_files_are_listed_as_not_kept() {
    let model = FakeModel::new(|req, _| {
        let seen = req
            .messages
            .iter()
            .any(|m| m.content.starts_with("exitcode: 0"));
        Ok(if seen {
            "TERMINATE".into()
        } else {
            "```sh\nwrite out.txt hello\n```".into()
        })
    });
    let executor = Arc::new(FakeExecutor::default());
    let mut team = team(&["Coder", "Critic"], SpeakerSelection::RoundRobin);
    team.code_execution.enabled = true;
    let sink = MemorySink::new();
    execute_run(given(team), context(model, Some(executor), &sink), None)
        .await
        .unwrap();
    let files = sink.events().into_iter().find_map(|e| match e.kind {
        EventKind::CodeResult { files, .. } => Some(files),
        _ => None,
    });
    assert_eq!(
        files.unwrap(),
        vec![ArtifactFile {
            path: "out.txt".into(),
            size_bytes: 5,
            content_type: "text/plain".into(),
            stored: false,
            skipped: Some(ArtifactSkip::NotKept),
        }]
    );
}

#[test]
fn code_results_stored_before_artifacts_still_decode() {
    let old = serde_json::json!({
        "type": "code_result",
        "data": {"message_id": "m", "exit_code": 0, "stdout": "", "stderr": "",
                 "duration_ms": 1, "timed_out": false}
    });
    let kind: EventKind = serde_json::from_value(old).unwrap();
    assert!(matches!(kind, EventKind::CodeResult { files, .. } if files.is_empty()));
}

/// Streams half a reply and then loses the connection, `breaks` times; then answers.
struct BreakingModel {
    breaks: u32,
    calls: std::sync::atomic::AtomicU32,
}

#[async_trait]
impl ChatModel for BreakingModel {
    fn model_name(&self) -> &str {
        "breaking"
    }
    async fn chat(
        &self,
        _request: ChatRequest,
        on_delta: DeltaSink<'_>,
        _cancel: &CancellationToken,
    ) -> Result<ChatResponse, ModelError> {
        let call = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if call < self.breaks {
            on_delta("half a rep");
            return Err(ModelError::Unreachable {
                endpoint: "http://model.test/v1".into(),
                message: "connection lost mid-response".into(),
            });
        }
        on_delta("done TERMINATE");
        Ok(ChatResponse {
            model: "breaking".into(),
            content: "done TERMINATE".into(),
            tool_calls: vec![],
            usage: Usage::default(),
            finish_reason: None,
        })
    }
}

#[tokio::test]
async fn a_reply_that_breaks_off_mid_stream_is_asked_again_as_a_new_message() {
    let model = Arc::new(BreakingModel {
        breaks: 2,
        calls: Default::default(),
    });
    let sink = MemorySink::new();
    let outcome = execute_run(
        given(team(&["A"], SpeakerSelection::RoundRobin)),
        context(model.clone(), None, &sink),
        None,
    )
    .await
    .unwrap();
    let events = sink.events();
    assert_well_formed(&events);
    assert_eq!(outcome.status, RunStatus::Completed);
    let drafts: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::MessageDelta { message_id, .. } => Some(message_id.as_str()),
            _ => None,
        })
        .collect();
    let finals: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message {
                message_id,
                content,
                agent,
                ..
            } if agent == "A" => Some((message_id.as_str(), content.as_str())),
            _ => None,
        })
        .collect();
    // One message, once, whole; the two broken drafts had ids of their own.
    assert_eq!(finals.len(), 1);
    assert_eq!(finals[0].1, "done TERMINATE");
    let mut draft_ids = drafts.clone();
    draft_ids.dedup();
    assert_eq!(draft_ids.len(), 3, "{drafts:?}");
    assert_eq!(draft_ids.last(), Some(&finals[0].0));
    let warnings = events
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::Log { message, .. } if message.contains("A's reply broke off")))
        .count();
    assert_eq!(warnings, 2);
}

#[tokio::test]
async fn a_reply_that_keeps_breaking_off_fails_the_run() {
    let model = Arc::new(BreakingModel {
        breaks: 10,
        calls: Default::default(),
    });
    let sink = MemorySink::new();
    let outcome = execute_run(
        given(team(&["A"], SpeakerSelection::RoundRobin)),
        context(model.clone(), None, &sink),
        None,
    )
    .await
    .unwrap();
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(model.calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    let events = sink.events();
    assert_well_formed(&events);
    assert!(events.iter().any(
        |e| matches!(&e.kind, EventKind::Error { code, .. } if *code == FailureCode::LlmUnreachable)
    ));
}
