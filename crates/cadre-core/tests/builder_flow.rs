//! The team builder against a fake model that answers by purpose, counts calls and
//! records how many calls were in flight at once.

// Helpers outside #[test] fns are test code too; clippy only exempts the fns.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cadre_core::event::LogLevel;
use cadre_core::model::DeltaSink;
use cadre_core::team::DEFAULT_EXECUTOR_NAME;
use cadre_core::{
    AgentSpec, BuildError, BuildOptions, ChatModel, ChatRequest, ChatResponse, EventKind,
    MemorySink, ModelError, Purpose, Role, RunEmitter, TeamBuilder, Usage,
};
use tokio_util::sync::CancellationToken;

/// The run id of every test run.
const RUN_ID: uuid::Uuid = uuid::Uuid::from_u128(1);

/// Answers a request, given how many earlier calls had the same purpose label.
type Responder = dyn Fn(&ChatRequest, usize) -> Result<String, ModelError> + Send + Sync;

struct FakeModel {
    respond: Box<Responder>,
    latency: Duration,
    calls: Mutex<Vec<ChatRequest>>,
    per_label: Mutex<HashMap<String, usize>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl FakeModel {
    fn new(
        respond: impl Fn(&ChatRequest, usize) -> Result<String, ModelError> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            respond: Box::new(respond),
            latency: Duration::from_millis(100),
            calls: Mutex::new(Vec::new()),
            per_label: Mutex::new(HashMap::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        })
    }

    fn calls(&self) -> Vec<ChatRequest> {
        self.calls.lock().unwrap().clone()
    }

    fn count(&self, pred: impl Fn(&Purpose) -> bool) -> usize {
        self.calls().iter().filter(|r| pred(&r.purpose)).count()
    }

    fn max_concurrency(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl ChatModel for FakeModel {
    fn model_name(&self) -> &str {
        "fake-model"
    }

    async fn chat(
        &self,
        request: ChatRequest,
        _on_delta: DeltaSink<'_>,
        cancel: &CancellationToken,
    ) -> Result<ChatResponse, ModelError> {
        let nth = {
            let mut per_label = self.per_label.lock().unwrap();
            let n = per_label.entry(request.purpose.label()).or_insert(0);
            *n += 1;
            *n - 1
        };
        self.calls.lock().unwrap().push(request.clone());
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let slept = tokio::select! {
            _ = tokio::time::sleep(self.latency) => true,
            _ = cancel.cancelled() => false,
        };
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !slept {
            return Err(ModelError::Cancelled);
        }
        let content = (self.respond)(&request, nth)?;
        Ok(ChatResponse {
            model: request.model.clone().unwrap_or_else(|| "fake-model".into()),
            content,
            tool_calls: vec![],
            usage: Usage {
                prompt_tokens: 10,
                completion_tokens: 5,
                cost_usd: Some(0.001),
            },
            finish_reason: Some("stop".into()),
        })
    }
}

/// A well-behaved model: three experts in a fenced JSON array with a trailing comma.
fn good_answer(request: &ChatRequest) -> String {
    match &request.purpose {
        Purpose::BuildAgentNames => {
            "Sure, here is the team:\n```json\n[\"Data_Scientist\", \"Coder\", \"Critic\",]\n```"
                .into()
        }
        Purpose::BuildSystemMessage { agent } => {
            format!("You are {agent}, an expert in your field. Do your part well.")
        }
        Purpose::BuildDescription { agent } => format!("{agent} is skilled at its role."),
        Purpose::BuildCoding => "YES".into(),
        other => format!("unexpected purpose {other:?}"),
    }
}

fn emitter() -> (RunEmitter, MemorySink) {
    let sink = MemorySink::new();
    (RunEmitter::new(RUN_ID, Arc::new(sink.clone()), 0), sink)
}

fn options() -> BuildOptions {
    BuildOptions {
        model: Some("gpt-test".into()),
        ..BuildOptions::default()
    }
}

fn warn_logs(sink: &MemorySink) -> Vec<String> {
    sink.events()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Log {
                level: LogLevel::Warn,
                message,
            } => Some(message),
            _ => None,
        })
        .collect()
}

fn usage_events(sink: &MemorySink) -> usize {
    sink.events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Usage { .. }))
        .count()
}

#[tokio::test(start_paused = true)]
async fn happy_path_builds_a_valid_team_in_three_round_trips() {
    let model = FakeModel::new(|r, _| Ok(good_answer(r)));
    let builder = TeamBuilder::new(model.clone(), options());
    let (emitter, sink) = emitter();
    let task = "Analyse the sales CSV and plot monthly revenue.";
    let started = tokio::time::Instant::now();
    let outcome = builder
        .build(task, &emitter, &CancellationToken::new())
        .await
        .unwrap();
    let elapsed = started.elapsed();

    let team = &outcome.team;
    team.validate().unwrap();
    let names: Vec<&str> = team.agents.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Data_Scientist", "Coder", "Critic"]);
    assert_eq!(team.building_task.as_deref(), Some(task));
    assert_eq!(team.default_model.as_deref(), Some("gpt-test"));
    assert!(team.code_execution.enabled);
    assert_eq!(team.name, "Analyse the sales CSV and plot");
    for agent in &team.agents {
        assert!(
            agent
                .system_message
                .starts_with(&format!("You are {}", agent.name))
        );
        assert!(agent.system_message.contains("group chat"));
        assert!(agent.system_message.contains("TERMINATE"));
        assert!(agent.system_message.contains(DEFAULT_EXECUTOR_NAME));
        assert!(agent.system_message.contains("```python"));
        assert_eq!(
            agent.description,
            format!("{} is skilled at its role.", agent.name)
        );
    }

    // 1 names + 3 system messages + 3 descriptions + 1 coding.
    let calls = model.calls();
    assert_eq!(calls.len(), 8);
    assert!(calls.iter().all(|r| r.model.as_deref() == Some("gpt-test")));
    // All system messages and the coding decision were in flight together.
    assert!(
        model.max_concurrency() >= 4,
        "max concurrency {}",
        model.max_concurrency()
    );
    // Under the paused clock this is exact: three 100 ms round trips.
    assert_eq!(elapsed, Duration::from_millis(300));

    // Each description is derived from that agent's system message.
    for request in calls
        .iter()
        .filter(|r| matches!(r.purpose, Purpose::BuildDescription { .. }))
    {
        let Purpose::BuildDescription { agent } = &request.purpose else {
            unreachable!()
        };
        let prompt = &request.messages.last().unwrap().content;
        assert!(prompt.contains(&format!("You are {agent}, an expert")));
    }

    assert_eq!(outcome.usage.calls, 8);
    assert_eq!(outcome.usage.prompt_tokens, 80);
    assert_eq!(outcome.usage.completion_tokens, 40);
    assert!(warn_logs(&sink).is_empty());
}

#[tokio::test(start_paused = true)]
async fn usage_event_per_call() {
    let model = FakeModel::new(|r, _| Ok(good_answer(r)));
    let builder = TeamBuilder::new(model.clone(), options());
    let (emitter, sink) = emitter();
    builder
        .build("task", &emitter, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(usage_events(&sink), model.calls().len());
    for event in sink.events() {
        if let EventKind::Usage {
            model,
            prompt_tokens,
            completion_tokens,
            cost_usd,
        } = event.kind
        {
            assert_eq!(model, "gpt-test");
            assert_eq!((prompt_tokens, completion_tokens), (10, 5));
            assert_eq!(cost_usd, Some(0.001));
        }
    }
    // Seqs stay gap-free even though calls ran concurrently.
    let seqs: Vec<u64> = sink.events().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn max_agents_truncates_and_is_told_to_the_model() {
    let model = FakeModel::new(|r, _| match r.purpose {
        Purpose::BuildAgentNames => Ok(r#"["A1", "A2", "A3", "A4", "A5", "A6"]"#.into()),
        _ => Ok(good_answer(r)),
    });
    let builder = TeamBuilder::new(
        model.clone(),
        BuildOptions {
            max_agents: 2,
            ..options()
        },
    );
    let (emitter, _sink) = emitter();
    let outcome = builder
        .build("task", &emitter, &CancellationToken::new())
        .await
        .unwrap();
    let names: Vec<&str> = outcome
        .team
        .agents
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["A1", "A2"]);
    let names_prompt = &model.calls()[0].messages[1].content;
    assert!(names_prompt.contains("between 1 and 2"), "{names_prompt}");
    assert_eq!(
        model.count(|p| matches!(p, Purpose::BuildSystemMessage { .. })),
        2
    );
}

#[tokio::test(start_paused = true)]
async fn names_as_numbered_list() {
    let model = FakeModel::new(|r, _| {
        match r.purpose {
        Purpose::BuildAgentNames => Ok(
            "The task needs these experts:\n1. **Research Analyst** - finds sources\n2. Writer: drafts the report\n"
                .into(),
        ),
        _ => Ok(good_answer(r)),
    }
    });
    let builder = TeamBuilder::new(model, options());
    let (emitter, _sink) = emitter();
    let outcome = builder
        .build("task", &emitter, &CancellationToken::new())
        .await
        .unwrap();
    let names: Vec<&str> = outcome
        .team
        .agents
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["Research_Analyst", "Writer"]);
}

#[tokio::test(start_paused = true)]
async fn malformed_then_good_is_retried_with_the_error() {
    let model = FakeModel::new(|r, nth| match r.purpose {
        Purpose::BuildAgentNames if nth == 0 => {
            Ok("I believe that this task really needs a few different people.".into())
        }
        Purpose::BuildCoding if nth == 0 => Ok("It depends on the data.".into()),
        _ => Ok(good_answer(r)),
    });
    let builder = TeamBuilder::new(model.clone(), options());
    let (emitter, sink) = emitter();
    let outcome = builder
        .build("task", &emitter, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(outcome.team.agents.len(), 3);
    assert!(outcome.team.code_execution.enabled);
    assert_eq!(model.count(|p| *p == Purpose::BuildAgentNames), 2);
    assert_eq!(model.count(|p| *p == Purpose::BuildCoding), 2);

    let retry = model
        .calls()
        .into_iter()
        .filter(|r| r.purpose == Purpose::BuildAgentNames)
        .nth(1)
        .unwrap();
    let n = retry.messages.len();
    assert_eq!(n, 4);
    assert_eq!(retry.messages[n - 2].role, Role::Assistant);
    assert!(
        retry.messages[n - 2]
            .content
            .contains("few different people")
    );
    assert_eq!(retry.messages[n - 1].role, Role::User);
    assert!(retry.messages[n - 1].content.contains("no agent names"));
    assert!(retry.messages[n - 1].content.contains("JSON array"));

    let logs = warn_logs(&sink);
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert!(logs.iter().any(|l| l.contains("agent names")));
    assert!(logs.iter().any(|l| l.contains("coding decision")));
    assert_eq!(usage_events(&sink), 10);
}

#[tokio::test(start_paused = true)]
async fn always_malformed_names_fail_after_all_attempts() {
    let model = FakeModel::new(|r, _| match r.purpose {
        Purpose::BuildAgentNames => Ok("??? !!!".into()),
        _ => Ok(good_answer(r)),
    });
    let builder = TeamBuilder::new(
        model.clone(),
        BuildOptions {
            max_parse_retries: 3,
            ..options()
        },
    );
    let (emitter, sink) = emitter();
    let err = builder
        .build("task", &emitter, &CancellationToken::new())
        .await
        .unwrap_err();
    let BuildError::Malformed {
        step,
        attempts,
        detail,
    } = &err
    else {
        panic!("unexpected {err:?}")
    };
    assert_eq!(step, "agent names");
    assert_eq!(*attempts, 4);
    assert!(detail.contains("no agent names"), "{detail}");
    assert!(!err.to_string().contains('\n'));
    assert_eq!(model.calls().len(), 4);
    assert_eq!(warn_logs(&sink).len(), 3);
}

#[tokio::test(start_paused = true)]
async fn always_empty_system_message_fails_for_that_agent() {
    let model = FakeModel::new(|r, _| match &r.purpose {
        Purpose::BuildSystemMessage { agent } if agent == "Coder" => Ok("   ".into()),
        _ => Ok(good_answer(r)),
    });
    let builder = TeamBuilder::new(model.clone(), options());
    let (emitter, _sink) = emitter();
    let err = builder
        .build("task", &emitter, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        BuildError::Malformed {
            step: "system message for Coder".into(),
            attempts: 3,
            detail: "the system message was empty".into(),
        }
    );
    assert_eq!(
        model.count(|p| *p
            == Purpose::BuildSystemMessage {
                agent: "Coder".into()
            }),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn model_error_propagates() {
    let failure = ModelError::Provider {
        status: Some(500),
        message: "boom".into(),
        retryable: true,
    };
    let expected = failure.clone();
    let model = FakeModel::new(move |r, _| match &r.purpose {
        Purpose::BuildDescription { agent } if agent == "Critic" => Err(failure.clone()),
        _ => Ok(good_answer(r)),
    });
    let builder = TeamBuilder::new(model, options());
    let (emitter, _sink) = emitter();
    let err = builder
        .build("task", &emitter, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err, BuildError::Model(expected));
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_the_build() {
    let model = FakeModel::new(|r, _| Ok(good_answer(r)));
    let builder = TeamBuilder::new(model.clone(), options());
    let (emitter, _sink) = emitter();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let err = builder.build("task", &emitter, &cancel).await.unwrap_err();
    assert_eq!(err, BuildError::Model(ModelError::Cancelled));
    assert!(model.calls().is_empty());

    // Cancelled while the system messages are in flight.
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        trigger.cancel();
    });
    let err = builder.build("task", &emitter, &cancel).await.unwrap_err();
    assert_eq!(err, BuildError::Model(ModelError::Cancelled));
}

#[tokio::test(start_paused = true)]
async fn forced_coding_skips_the_coding_call() {
    for forced in [true, false] {
        let model = FakeModel::new(|r, _| Ok(good_answer(r)));
        let builder = TeamBuilder::new(
            model.clone(),
            BuildOptions {
                coding: Some(forced),
                ..options()
            },
        );
        let (emitter, sink) = emitter();
        let outcome = builder
            .build("task", &emitter, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(outcome.team.code_execution.enabled, forced);
        assert_eq!(model.count(|p| *p == Purpose::BuildCoding), 0);
        assert_eq!(model.calls().len(), 7);
        assert_eq!(usage_events(&sink), 7);
        for agent in &outcome.team.agents {
            assert_eq!(agent.system_message.contains(DEFAULT_EXECUTOR_NAME), forced);
            assert!(agent.system_message.contains("TERMINATE"));
        }
    }
}

#[tokio::test(start_paused = true)]
async fn coding_no_disables_execution() {
    let model = FakeModel::new(|r, _| match r.purpose {
        Purpose::BuildCoding => Ok("No. Writing only.".into()),
        _ => Ok(good_answer(r)),
    });
    let builder = TeamBuilder::new(model, options());
    let (emitter, _sink) = emitter();
    let outcome = builder
        .build("write a poem", &emitter, &CancellationToken::new())
        .await
        .unwrap();
    assert!(!outcome.team.code_execution.enabled);
    assert_eq!(outcome.team.participants().len(), 3);
}

fn library() -> Vec<AgentSpec> {
    ["Planner", "Python_Coder", "Critic", "Writer"]
        .iter()
        .map(|name| {
            AgentSpec::new(
                *name,
                format!("You are {name}. Reply TERMINATE when done."),
                format!("{name} does {name} things."),
            )
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn library_pick_ignores_unknown_names_and_truncates() {
    let model = FakeModel::new(|r, _| match r.purpose {
        Purpose::Other => {
            Ok(r#"["Python Coder", "Astronaut", "critic", "Writer", "Planner"]"#.into())
        }
        _ => Ok(good_answer(r)),
    });
    let builder = TeamBuilder::new(
        model.clone(),
        BuildOptions {
            max_agents: 3,
            ..options()
        },
    );
    let (emitter, sink) = emitter();
    let outcome = builder
        .build_from_library("plot data", &library(), &emitter, &CancellationToken::new())
        .await
        .unwrap();
    let names: Vec<&str> = outcome
        .team
        .agents
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["Python_Coder", "Critic", "Writer"]);
    assert!(outcome.team.code_execution.enabled);
    // Saved agents keep their text; coding instructions are added since code runs.
    let coder = &outcome.team.agents[0];
    assert!(coder.system_message.starts_with("You are Python_Coder."));
    assert!(coder.system_message.contains(DEFAULT_EXECUTOR_NAME));
    assert_eq!(model.calls().len(), 2);
    assert_eq!(usage_events(&sink), 2);
    let prompt = &model.calls()[0].messages[1].content;
    assert!(prompt.contains("- Planner: Planner does Planner things."));
    assert!(prompt.contains("at most 3"));
}

#[tokio::test(start_paused = true)]
async fn library_pick_with_no_known_names_fails() {
    let model = FakeModel::new(|r, _| match r.purpose {
        Purpose::Other => Ok(r#"["Astronaut"]"#.into()),
        _ => Ok(good_answer(r)),
    });
    let builder = TeamBuilder::new(
        model.clone(),
        BuildOptions {
            coding: Some(false),
            ..options()
        },
    );
    let (emitter, _sink) = emitter();
    let err = builder
        .build_from_library("task", &library(), &emitter, &CancellationToken::new())
        .await
        .unwrap_err();
    let BuildError::Malformed {
        step,
        attempts,
        detail,
    } = err
    else {
        panic!("unexpected {err:?}")
    };
    assert_eq!(step, "choice of library agents");
    assert_eq!(attempts, 3);
    assert!(
        detail.contains("choose from: Planner, Python_Coder"),
        "{detail}"
    );
    assert_eq!(model.calls().len(), 3);

    let empty = builder
        .build_from_library("task", &[], &emitter, &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(empty, BuildError::Team(_)));
}
