//! The `demo` model: plays, offline and deterministically, a plausible team build and
//! conversation for any task, so that `cadre run --model demo "…"` shows the whole product
//! without an API key.
//!
//! It is stateless: every answer is derived from the request alone (its purpose and the
//! conversation it carries), which keeps it deterministic under concurrent builder calls
//! and lets a resumed run continue exactly where it stopped. The conversation goes: a plan,
//! a Python program for the task (for Fibonacci/prime tasks it also writes a CSV table and
//! a PNG chart, the run's artifacts), the executor's real output, a review quoting that
//! output, and a closing summary with TERMINATE. An agent offered tools (MCP, through its
//! team's allowlist) first calls the first of them with arguments made from its schema,
//! then says what it answered before its usual reply.

use std::time::Duration;

use async_trait::async_trait;
use cadre_core::message::{ChatMessage, Role};
use cadre_core::model::{
    ChatModel, ChatRequest, ChatResponse, DeltaSink, ModelError, Purpose, ToolCall, ToolDefinition,
};
use tokio_util::sync::CancellationToken;

use crate::scripted::{estimate_usage, stream_text, stream_text_paced, wait};

/// The name that selects the demo model, wherever a model is named (`--model demo`,
/// `"model": "demo"`).
pub const DEMO_MODEL: &str = "demo";

/// The offline demonstration model.
#[derive(Debug, Clone, Default)]
pub struct DemoModel {
    delay: Duration,
}

/// Prefix of the executor's replies (AutoGen's format, which the engine also writes).
const EXECUTOR_PREFIX: &str = "exitcode:";

impl DemoModel {
    /// A demo model answering at once.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes this long over each answer, like a real model: half before the first token,
    /// half streaming the text.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

#[async_trait]
impl ChatModel for DemoModel {
    fn model_name(&self) -> &str {
        DEMO_MODEL
    }

    fn provider_name(&self) -> &str {
        "demo"
    }

    async fn chat(
        &self,
        request: ChatRequest,
        on_delta: DeltaSink<'_>,
        cancel: &CancellationToken,
    ) -> Result<ChatResponse, ModelError> {
        let first_token = self.delay / 2;
        wait(first_token, cancel).await?;
        let conversation = Conversation::of(&request.messages);
        if let (Purpose::AgentReply { .. }, Some(tool)) = (&request.purpose, request.tools.first())
            && conversation.tool_results().is_empty()
        {
            let call = ToolCall {
                id: "demo_call_1".into(),
                name: tool.name.clone(),
                arguments: arguments_for(tool, conversation.task()).to_string(),
            };
            return Ok(ChatResponse {
                model: DEMO_MODEL.into(),
                content: String::new(),
                usage: estimate_usage(&request, &call.arguments),
                tool_calls: vec![call],
                finish_reason: Some("tool_calls".into()),
            });
        }
        let content = match &request.purpose {
            Purpose::BuildAgentNames => agent_names(conversation.first_user()),
            Purpose::BuildSystemMessage { agent } => system_message(agent),
            Purpose::BuildDescription { agent } => description(agent),
            Purpose::BuildCoding => "YES".to_string(),
            Purpose::SelectSpeaker { candidates } => select(&conversation, candidates),
            Purpose::AgentReply { .. } => match conversation.tool_results().as_slice() {
                [] => reply(&conversation),
                results => format!(
                    "The tool answered: {}\n\n{}",
                    one_line(&results.join(" / ")),
                    reply(&conversation)
                ),
            },
            Purpose::Other => {
                "I am the demo model: I only play Cadre's demonstration run.".to_string()
            }
        };
        let usage = estimate_usage(&request, &content);
        if self.delay.is_zero() {
            stream_text(&content, on_delta);
        } else {
            stream_text_paced(&content, self.delay - first_token, on_delta, cancel).await?;
        }
        Ok(ChatResponse {
            model: DEMO_MODEL.into(),
            content,
            tool_calls: vec![],
            usage,
            finish_reason: Some("stop".into()),
        })
    }
}

/// The turns of a chat request, without the system message.
struct Conversation<'a> {
    turns: Vec<&'a ChatMessage>,
}

/// Where the scripted conversation stands.
#[derive(Debug, PartialEq)]
enum Phase {
    Plan,
    Code,
    /// The last turn holds code nobody has run yet (round robin put someone else first).
    AwaitRun,
    Review,
    Conclude,
}

impl<'a> Conversation<'a> {
    fn of(messages: &'a [ChatMessage]) -> Self {
        Self {
            turns: messages.iter().filter(|m| m.role != Role::System).collect(),
        }
    }

    fn first_user(&self) -> &str {
        self.turns
            .first()
            .map(|m| m.content.as_str())
            .unwrap_or_default()
    }

    /// The task is the first turn; the selection prompt appends a question turn at the end
    /// that is not part of the chat, so only named turns count (and not this turn's tool
    /// calls).
    fn chat_turns(&self) -> Vec<&'a ChatMessage> {
        self.turns
            .iter()
            .copied()
            .filter(|m| m.name.is_some() && m.tool_calls.is_empty() && m.role != Role::Tool)
            .collect()
    }

    /// What this turn's tool calls answered: the tool exchange at the end of the
    /// conversation (earlier turns' exchanges are history).
    fn tool_results(&self) -> Vec<&'a str> {
        let mut results: Vec<&'a str> = self
            .turns
            .iter()
            .rev()
            .take_while(|m| m.role == Role::Tool || !m.tool_calls.is_empty())
            .filter(|m| m.role == Role::Tool)
            .map(|m| m.content.as_str())
            .collect();
        results.reverse();
        results
    }

    fn phase(&self) -> Phase {
        let turns = self.chat_turns();
        let after_task = turns.get(1..).unwrap_or_default();
        let has_code = after_task.iter().any(|m| m.content.contains("```python"));
        let last_is_output = turns
            .last()
            .is_some_and(|m| m.content.starts_with(EXECUTOR_PREFIX));
        let last_has_code = turns
            .last()
            .is_some_and(|m| m.content.contains("```python"));
        if after_task.is_empty() {
            Phase::Plan
        } else if !has_code {
            Phase::Code
        } else if last_is_output {
            Phase::Review
        } else if last_has_code {
            Phase::AwaitRun
        } else {
            Phase::Conclude
        }
    }

    fn task(&self) -> &str {
        self.chat_turns()
            .first()
            .map(|m| m.content.as_str())
            .unwrap_or_default()
    }

    fn last_output(&self) -> Option<&str> {
        self.chat_turns()
            .iter()
            .rev()
            .find(|m| m.content.starts_with(EXECUTOR_PREFIX))
            .map(|m| m.content.as_str())
    }
}

fn expert_names(task: &str) -> [&'static str; 3] {
    let task = task.to_lowercase();
    let lead = if ["fibonacci", "prime", "math", "number", "equation"]
        .iter()
        .any(|k| task.contains(k))
    {
        "Mathematician"
    } else if ["data", "plot", "chart", "csv", "statistic", "compare"]
        .iter()
        .any(|k| task.contains(k))
    {
        "Data_Scientist"
    } else {
        "Task_Planner"
    };
    [lead, "Python_Developer", "Quality_Reviewer"]
}

fn agent_names(task: &str) -> String {
    let names = expert_names(task);
    format!(
        "For this task the team needs three experts:\n```json\n[\"{}\", \"{}\", \"{}\"]\n```",
        names[0], names[1], names[2]
    )
}

fn system_message(agent: &str) -> String {
    let role = agent.replace('_', " ");
    format!(
        "You are {role}, an expert in a group chat solving a task together with other experts.\n\
         Contribute what your expertise adds, build on what the others said, and keep replies short.\n\
         When computation helps, write a complete Python program in a ```python block; a \
         Computer_terminal agent runs it and posts the output. Never invent output.\n\
         When the task is solved and checked, reply with TERMINATE."
    )
}

fn description(agent: &str) -> String {
    let role = agent.replace('_', " ");
    format!(
        "{role}: contributes {} expertise to the team and checks the others' work.",
        role.to_lowercase()
    )
}

fn select(conversation: &Conversation<'_>, candidates: &[String]) -> String {
    let pick = |i: usize| {
        candidates
            .get(i % candidates.len().max(1))
            .cloned()
            .unwrap_or_default()
    };
    match conversation.phase() {
        Phase::Plan | Phase::Conclude => pick(0),
        Phase::Code => pick(1),
        Phase::AwaitRun | Phase::Review => pick(2),
    }
}

fn reply(conversation: &Conversation<'_>) -> String {
    let task = conversation.task();
    match conversation.phase() {
        Phase::Plan => format!(
            "Plan for the task \"{}\":\n1. Write a short Python program that computes what the task asks for.\n\
             2. Run it and read the real output.\n3. Check the results and summarise them.\n\
             Python_Developer, please write the program.",
            one_line(task)
        ),
        Phase::Code => format!(
            "Here is the program:\n```python\n{}\n```\nPlease run it.",
            program_for(task)
        ),
        Phase::AwaitRun => {
            "The program above has not run yet; Computer_terminal, please execute it so we can check real output.".to_string()
        }
        Phase::Review => {
            let output = conversation.last_output().unwrap_or_default();
            let body = output
                .split_once("Code output:")
                .map(|(_, rest)| rest.trim())
                .unwrap_or(output);
            if output.starts_with("exitcode: 0") {
                format!(
                    "I checked the run. The program printed:\n```text\n{body}\n```\nThe numbers are consistent with the plan."
                )
            } else {
                format!(
                    "The program did not run successfully. The executor reported:\n```text\n{}\n```\nWe report this as the outcome.",
                    body
                )
            }
        }
        Phase::Conclude => {
            let verdict = match conversation.last_output() {
                Some(output) if output.starts_with("exitcode: 0") => {
                    "The program ran in the sandbox and its output was reviewed above."
                }
                Some(_) => "The program failed in the sandbox; the error is quoted above.",
                None => "Code execution was not available, so the program was not run.",
            };
            format!(
                "Summary: {verdict} The task \"{}\" is complete.\nTERMINATE",
                one_line(task)
            )
        }
    }
}

fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    if line.chars().count() > 120 {
        format!("{}…", line.chars().take(120).collect::<String>())
    } else {
        line.to_string()
    }
}

/// Arguments for `tool` from its JSON Schema: each required property gets a plain value
/// (the task's first line for strings, the task's number for numbers).
fn arguments_for(tool: &ToolDefinition, task: &str) -> serde_json::Value {
    let schema = &tool.parameters;
    let mut arguments = serde_json::Map::new();
    let required = schema
        .get("required")
        .and_then(|r| r.as_array())
        .cloned()
        .unwrap_or_default();
    for name in required.iter().filter_map(|n| n.as_str()) {
        let kind = schema
            .pointer(&format!("/properties/{name}/type"))
            .and_then(|t| t.as_str())
            .unwrap_or("string");
        let value = match kind {
            "integer" | "number" => serde_json::json!(count_in(task)),
            "boolean" => serde_json::json!(true),
            "array" => serde_json::json!([]),
            "object" => serde_json::json!({}),
            _ => serde_json::json!(one_line(task)),
        };
        arguments.insert(name.to_string(), value);
    }
    serde_json::Value::Object(arguments)
}

/// The first number in the task between 1 and 1000, for "the first N …" tasks.
fn count_in(task: &str) -> usize {
    task.split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse::<usize>().ok())
        .find(|n| (1..=1000).contains(n))
        .unwrap_or(20)
}

fn program_for(task: &str) -> String {
    let lower = task.to_lowercase();
    if lower.contains("fibonacci") || lower.contains("prime") {
        let n = count_in(task);
        format!(
            "# filename: fib_vs_primes.py\n\
             def fibonacci(n):\n    seq = [0, 1]\n    while len(seq) < n:\n        seq.append(seq[-1] + seq[-2])\n    return seq[:n]\n\n\
             def primes(n):\n    found = []\n    candidate = 2\n    while len(found) < n:\n        if all(candidate % p for p in found if p * p <= candidate):\n            found.append(candidate)\n        candidate += 1\n    return found\n\n\
             fib = fibonacci({n})\npri = primes({n})\n\
             print(\"First {n} Fibonacci numbers:\", fib)\n\
             print(\"First {n} primes:\", pri)\n\
             print(\"In both lists:\", sorted(set(fib) & set(pri)))\n\
             print(\"Sum of Fibonacci numbers:\", sum(fib))\n\
             print(\"Sum of primes:\", sum(pri))\n\
             larger = sum(1 for f, p in zip(fib, pri) if f > p)\n\
             print(f\"Fibonacci number is larger at {{larger}} of {n} positions\")\n\n\
             # The table and a chart (log scale), as files: the run keeps them as artifacts.\n\
             with open(\"fib_vs_primes.csv\", \"w\") as out:\n    out.write(\"position,fibonacci,prime\\n\")\n    for i, (f, p) in enumerate(zip(fib, pri), 1):\n        out.write(f\"{{i}},{{f}},{{p}}\\n\")\n\n\
             import math, struct, zlib\n\
             W, H, M = 400, 240, 20\n\
             img = [[(255, 255, 255)] * W for _ in range(H)]\n\
             top = math.log(max(fib + pri) + 1) or 1\n\
             def plot(values, color):\n    step = (W - 2 * M) / max(len(values) - 1, 1)\n    pts = [(M + round(i * step), H - M - round(math.log(v + 1) / top * (H - 2 * M))) for i, v in enumerate(values)]\n    for (x0, y0), (x1, y1) in zip(pts, pts[1:] or pts):\n        n = max(abs(x1 - x0), abs(y1 - y0), 1)\n        for s in range(n + 1):\n            x, y = x0 + (x1 - x0) * s // n, y0 + (y1 - y0) * s // n\n            for dx in (-1, 0, 1):\n                for dy in (-1, 0, 1):\n                    img[y + dy][x + dx] = color\n\
             for x in range(M, W - M + 1):\n    img[H - M][x] = (0, 0, 0)\n\
             for y in range(M, H - M + 1):\n    img[y][M] = (0, 0, 0)\n\
             plot(fib, (31, 119, 180))\n\
             plot(pri, (255, 127, 14))\n\
             def chunk(kind, data):\n    return struct.pack(\">I\", len(data)) + kind + data + struct.pack(\">I\", zlib.crc32(kind + data))\n\
             raw = b\"\".join(b\"\\x00\" + bytes(c for px in row for c in px) for row in img)\n\
             png = b\"\\x89PNG\\r\\n\\x1a\\n\" + chunk(b\"IHDR\", struct.pack(\">IIBBBBB\", W, H, 8, 2, 0, 0, 0)) + chunk(b\"IDAT\", zlib.compress(raw, 9)) + chunk(b\"IEND\", b\"\")\n\
             with open(\"fib_vs_primes.png\", \"wb\") as out:\n    out.write(png)\n\
             print(\"Wrote fib_vs_primes.csv and fib_vs_primes.png (Fibonacci in blue, primes in orange, log scale)\")"
        )
    } else {
        // The task text goes in as a JSON string literal, which Python reads unchanged.
        let literal = serde_json::to_string(task).unwrap_or_else(|_| "\"\"".into());
        format!(
            "# filename: task_overview.py\n\
             from collections import Counter\n\n\
             task = {literal}\n\
             words = [w.strip(\".,;:!?()\\\"'\").lower() for w in task.split()]\n\
             words = [w for w in words if w]\n\
             print(f\"The task has {{len(words)}} words and {{len(task)}} characters.\")\n\
             common = Counter(w for w in words if len(w) > 3).most_common(5)\n\
             print(\"Key terms:\", \", \".join(f\"{{w}} ({{c}})\" for w, c in common) or \"none\")\n\
             print(\"Longest word:\", max(words, key=len) if words else \"none\")"
        )
    }
}

#[cfg(test)]
mod tests {
    use cadre_core::model::ChatRequest;

    use super::*;

    #[tokio::test]
    async fn an_agent_offered_a_tool_calls_it_then_reports_its_answer() {
        let tool = ToolDefinition {
            name: "notebook__add".into(),
            description: "Adds".into(),
            parameters: serde_json::json!({"type": "object", "required": ["a", "b"],
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}),
        };
        let task = ChatMessage::user("Add the first 12 numbers").named("User");
        let mut request = ChatRequest::new(
            Purpose::AgentReply { agent: "X".into() },
            vec![ChatMessage::system("You are X."), task.clone()],
        );
        request.tools = vec![tool];
        let model = DemoModel::new();
        let cancel = CancellationToken::new();
        let first = model
            .chat(request.clone(), &mut |_| {}, &cancel)
            .await
            .unwrap();
        assert!(first.content.is_empty());
        assert_eq!(first.tool_calls.len(), 1);
        assert_eq!(first.tool_calls[0].name, "notebook__add");
        assert_eq!(first.tool_calls[0].arguments, r#"{"a":12,"b":12}"#);

        request
            .messages
            .push(ChatMessage::assistant_with_tool_calls("", first.tool_calls.clone()).named("X"));
        request
            .messages
            .push(ChatMessage::tool_result("demo_call_1", "24"));
        let second = model
            .chat(request.clone(), &mut |_| {}, &cancel)
            .await
            .unwrap();
        assert!(second.tool_calls.is_empty());
        // The tool exchange is not a chat turn: the conversation is still at its plan.
        assert!(
            second
                .content
                .starts_with("The tool answered: 24\n\nPlan for the task"),
            "{}",
            second.content
        );

        // A later turn of the same agent, its earlier exchange in the history: it calls
        // the tool again rather than reporting the old answer.
        request
            .messages
            .push(ChatMessage::assistant(second.content).named("X"));
        request
            .messages
            .push(ChatMessage::user("Go on.").named("Y"));
        let third = model.chat(request, &mut |_| {}, &cancel).await.unwrap();
        assert_eq!(third.tool_calls.len(), 1);
    }

    async fn ask(purpose: Purpose, messages: Vec<ChatMessage>) -> String {
        DemoModel::new()
            .chat(
                ChatRequest::new(purpose, messages),
                &mut |_| {},
                &CancellationToken::new(),
            )
            .await
            .unwrap()
            .content
    }

    #[tokio::test(start_paused = true)]
    async fn with_a_delay_the_answer_streams_in_over_time() {
        let model = DemoModel::new().with_delay(Duration::from_millis(800));
        let started = tokio::time::Instant::now();
        let mut arrivals = Vec::new();
        let response = model
            .chat(
                ChatRequest::new(
                    Purpose::BuildSystemMessage {
                        agent: "Data_Analyst".into(),
                    },
                    vec![ChatMessage::user("Analyse the sales")],
                ),
                &mut |delta| arrivals.push((started.elapsed(), delta.to_owned())),
                &CancellationToken::new(),
            )
            .await
            .unwrap();
        assert!(arrivals.len() > 3, "{arrivals:?}");
        let text: String = arrivals.iter().map(|(_, delta)| delta.as_str()).collect();
        assert_eq!(text, response.content);
        // Half the delay before the first token, the rest spread over the text.
        assert_eq!(arrivals[0].0, Duration::from_millis(400));
        assert!(arrivals.last().unwrap().0 < Duration::from_millis(800));
        assert!(started.elapsed() >= Duration::from_millis(790));
    }

    #[tokio::test]
    async fn conversation_moves_through_the_phases() {
        let task =
            ChatMessage::user("Compare the first 20 Fibonacci numbers with the first 20 primes")
                .named("User");
        let reply = Purpose::AgentReply { agent: "X".into() };
        let plan = ask(reply.clone(), vec![task.clone()]).await;
        assert!(plan.starts_with("Plan"), "{plan}");
        let code = ask(
            reply.clone(),
            vec![task.clone(), ChatMessage::user(plan.clone()).named("A")],
        )
        .await;
        assert!(
            code.contains("```python")
                && code.contains("fibonacci(20)")
                && code.contains("fib_vs_primes.png"),
            "{code}"
        );
        let output = ChatMessage::user(
            "exitcode: 0 (execution succeeded)\nCode output: First 20 primes: [2, 3]",
        )
        .named("Computer_terminal");
        let review = ask(
            reply.clone(),
            vec![
                task.clone(),
                ChatMessage::user(code.clone()).named("B"),
                output.clone(),
            ],
        )
        .await;
        assert!(
            review.contains("First 20 primes: [2, 3]") && !review.contains("TERMINATE"),
            "{review}"
        );
        let done = ask(
            reply,
            vec![
                task,
                ChatMessage::user(code).named("B"),
                output,
                ChatMessage::user(review).named("C"),
            ],
        )
        .await;
        assert!(done.ends_with("TERMINATE"), "{done}");
    }

    #[tokio::test]
    async fn unexecuted_code_is_not_concluded_on() {
        let task = ChatMessage::user("Compare primes").named("User");
        let reply = Purpose::AgentReply { agent: "X".into() };
        let code = ask(
            reply.clone(),
            vec![task.clone(), ChatMessage::user("Plan").named("A")],
        )
        .await;
        let waiting = ask(
            reply.clone(),
            vec![
                task.clone(),
                ChatMessage::user("Plan").named("A"),
                ChatMessage::user(code.clone()).named("B"),
            ],
        )
        .await;
        assert!(
            waiting.contains("has not run yet") && !waiting.contains("TERMINATE"),
            "{waiting}"
        );
        // Without an executor nobody runs it: the next turn concludes honestly.
        let history = vec![
            task,
            ChatMessage::user(code).named("B"),
            ChatMessage::user(waiting).named("C"),
        ];
        let done = ask(reply, history).await;
        assert!(
            done.contains("was not available") && done.ends_with("TERMINATE"),
            "{done}"
        );
    }

    #[tokio::test]
    async fn builds_three_experts_and_selects_by_phase() {
        let names = ask(
            Purpose::BuildAgentNames,
            vec![ChatMessage::user("plot some data")],
        )
        .await;
        assert!(
            names.contains("Data_Scientist")
                && names.contains("Python_Developer")
                && names.contains("Quality_Reviewer")
        );
        let candidates = vec!["P".to_string(), "D".to_string(), "R".to_string()];
        let task = ChatMessage::user("anything").named("User");
        let first = ask(
            Purpose::SelectSpeaker {
                candidates: candidates.clone(),
            },
            vec![task.clone(), ChatMessage::user("Who next?")],
        )
        .await;
        assert_eq!(first, "P");
        let second = ask(
            Purpose::SelectSpeaker { candidates },
            vec![
                task,
                ChatMessage::user("Plan").named("P"),
                ChatMessage::user("Who next?"),
            ],
        )
        .await;
        assert_eq!(second, "D");
    }

    #[test]
    fn generic_tasks_get_a_program_with_the_task_text() {
        let program = program_for("Write a haiku about \"Rust\"");
        assert!(
            program.contains(r#"task = "Write a haiku about \"Rust\"""#),
            "{program}"
        );
    }
}
