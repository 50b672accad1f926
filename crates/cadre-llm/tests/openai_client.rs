//! The OpenAI-compatible client against a real local HTTP server ([`FakeOpenAi`]):
//! provider dialects, retries, timeouts, cancellation and secrecy of the key.

#![allow(clippy::unwrap_used, clippy::panic)] // helpers outside #[test] fns fail fast too

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cadre_core::model::ToolDefinition;
use cadre_core::{ChatMessage, ChatModel, ChatRequest, ChatResponse, ModelError, Purpose};
use cadre_llm::config::{ApiKey, LlmConfig, Provider};
use cadre_llm::fake_server::{FakeOpenAi, FakeReply};
use cadre_llm::openai::OpenAiClient;
use cadre_llm::pricing::PriceTable;
use serde_json::json;
use tokio_util::sync::CancellationToken;

const KEY: &str = "sk-test-SECRET-0123456789abcdef";

fn config_for(base_url: &str) -> LlmConfig {
    let mut config = LlmConfig::new(
        Provider::Custom,
        base_url,
        Some(ApiKey::new(KEY)),
        "test-model",
    )
    .unwrap();
    config.retry_backoff = Duration::from_millis(10);
    config.request_timeout = Duration::from_secs(3);
    config.idle_timeout = Duration::from_secs(3);
    config
}

fn client(server: &FakeOpenAi) -> OpenAiClient {
    OpenAiClient::new(config_for(&server.base_url())).unwrap()
}

fn request(text: &str) -> ChatRequest {
    ChatRequest::new(
        Purpose::Other,
        vec![
            ChatMessage::system("You are terse."),
            ChatMessage::user(text).named("admin"),
        ],
    )
}

/// Runs one chat and returns the result with the deltas received.
async fn chat(
    client: &OpenAiClient,
    request: ChatRequest,
) -> (Result<ChatResponse, ModelError>, Vec<String>) {
    let mut deltas = Vec::new();
    let result = client
        .chat(
            request,
            &mut |d: &str| deltas.push(d.to_owned()),
            &CancellationToken::new(),
        )
        .await;
    (result, deltas)
}

fn assert_no_key(error: &ModelError) {
    assert!(!format!("{error}").contains(KEY), "{error}");
    assert!(!format!("{error:?}").contains(KEY), "{error:?}");
    assert!(!format!("{error}").contains("SECRET"), "{error}");
}

#[tokio::test]
async fn streams_deltas_in_order_and_reports_usage() {
    let server = FakeOpenAi::start(vec![FakeReply::text("Hello there, world!").usage(12, 5)])
        .await
        .unwrap();
    let (result, deltas) = chat(&client(&server), request("Say hello")).await;
    let response = result.unwrap();
    assert_eq!(deltas, ["Hello ", "there, ", "world!"]);
    assert_eq!(response.content, deltas.concat());
    assert_eq!(response.usage.prompt_tokens, 12);
    assert_eq!(response.usage.completion_tokens, 5);
    assert_eq!(response.usage.cost_usd, None);
    assert_eq!(response.finish_reason.as_deref(), Some("stop"));
    assert_eq!(response.model, "test-model");
    assert!(response.tool_calls.is_empty());

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let body = &received[0].body;
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello", "name": "admin"},
        ])
    );
    assert!(body.get("purpose").is_none());
    assert!(body.get("tools").is_none());
    assert_eq!(server.reported_usage().total_tokens(), 17);
}

#[tokio::test]
async fn forwards_parameters_and_tools_in_openai_format() {
    let server = FakeOpenAi::start(vec![]).await.unwrap();
    let mut req = request("hi");
    req.model = Some("other-model".into());
    req.temperature = Some(0.5);
    req.max_tokens = Some(64);
    req.tools = vec![ToolDefinition {
        name: "get_weather".into(),
        description: "Weather of a city".into(),
        parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
    }];
    let (result, _) = chat(&client(&server), req).await;
    assert_eq!(result.unwrap().model, "other-model");
    let body = &server.requests()[0];
    assert_eq!(body["model"], "other-model");
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["max_tokens"], 64);
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(
        body["tools"][0]["function"]["parameters"]["properties"]["city"]["type"],
        "string"
    );
}

#[tokio::test]
async fn tolerates_provider_dialects() {
    let text = "Dialects differ in small ways.";
    let quirks = [
        ("comments", FakeReply::text(text).with_comments()),
        (
            "empty finish_reason",
            FakeReply::text(text).empty_finish_reason(),
        ),
        (
            "usage {} and usage in last choice",
            FakeReply::text(text)
                .empty_usage_objects()
                .usage_in_last_choice(),
        ),
        ("missing ids", FakeReply::text(text).without_ids()),
        (
            "content filter chunks",
            FakeReply::text(text).with_content_filter_chunks(),
        ),
        (
            "everything at once",
            FakeReply::text(text)
                .with_comments()
                .empty_finish_reason()
                .empty_usage_objects()
                .without_ids()
                .with_content_filter_chunks(),
        ),
    ];
    let server = FakeOpenAi::start(vec![]).await.unwrap();
    let client = client(&server);
    for (name, reply) in quirks {
        server.push(reply.usage(7, 3).model("provider/test-model-2024"));
        let (result, deltas) = chat(&client, request("hi")).await;
        let response = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(response.content, text, "{name}");
        assert_eq!(deltas.concat(), text, "{name}");
        assert_eq!(
            (
                response.usage.prompt_tokens,
                response.usage.completion_tokens
            ),
            (7, 3),
            "{name}"
        );
        assert_eq!(response.finish_reason.as_deref(), Some("stop"), "{name}");
        let expected_model = if name.contains("ids") || name.contains("everything") {
            "test-model"
        } else {
            "provider/test-model-2024"
        };
        assert_eq!(response.model, expected_model, "{name}");
    }
}

#[tokio::test]
async fn reported_cost_wins_over_price_table() {
    let server = FakeOpenAi::start(vec![
        FakeReply::text("priced by provider")
            .usage(1000, 500)
            .cost(0.0042),
        FakeReply::text("priced by table").usage(1_000_000, 100_000),
    ])
    .await
    .unwrap();
    let mut config = config_for(&server.base_url());
    config.prices =
        PriceTable::from_json(r#"{"test-model": {"prompt": 0.15, "completion": 0.6}}"#).unwrap();
    let client = OpenAiClient::new(config).unwrap();

    let (first, _) = chat(&client, request("a")).await;
    assert_eq!(first.unwrap().usage.cost_usd, Some(0.0042));
    let (second, _) = chat(&client, request("b")).await;
    let cost = second.unwrap().usage.cost_usd.unwrap();
    assert!((cost - 0.21).abs() < 1e-9, "{cost}");
}

#[tokio::test]
async fn assembles_tool_calls_split_over_chunks() {
    let weather = r#"{"city": "Paris", "unit": "celsius", "days": [1, 2, 3]}"#;
    let search = r#"{"query": "population of Paris"}"#;
    let server = FakeOpenAi::start(vec![
        FakeReply::tool_call("call_1", "get_weather", weather)
            .and_tool_call("call_2", "search", search),
    ])
    .await
    .unwrap();
    let (result, deltas) = chat(&client(&server), request("weather?")).await;
    let response = result.unwrap();
    assert!(deltas.is_empty());
    assert_eq!(response.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(response.tool_calls.len(), 2);
    assert_eq!(response.tool_calls[0].id, "call_1");
    assert_eq!(response.tool_calls[0].name, "get_weather");
    assert_eq!(response.tool_calls[0].arguments, weather);
    assert_eq!(response.tool_calls[1].id, "call_2");
    assert_eq!(response.tool_calls[1].name, "search");
    assert_eq!(response.tool_calls[1].arguments, search);
}

#[tokio::test]
async fn accepts_a_non_streamed_json_body() {
    let server = FakeOpenAi::start(vec![
        FakeReply::text("Whole answer at once.")
            .usage(9, 4)
            .cost(0.001)
            .non_streaming(),
        FakeReply::tool_call("c1", "run", r#"{"x": 1}"#).non_streaming(),
    ])
    .await
    .unwrap();
    let client = client(&server);
    let (result, deltas) = chat(&client, request("hi")).await;
    let response = result.unwrap();
    assert_eq!(deltas, ["Whole answer at once."]);
    assert_eq!(response.content, "Whole answer at once.");
    assert_eq!(response.usage.prompt_tokens, 9);
    assert_eq!(response.usage.cost_usd, Some(0.001));
    let (result, _) = chat(&client, request("hi")).await;
    let response = result.unwrap();
    assert_eq!(response.tool_calls[0].name, "run");
    assert_eq!(response.tool_calls[0].arguments, r#"{"x": 1}"#);
}

#[tokio::test]
async fn errors_inside_the_stream_carry_the_provider_message() {
    let server = FakeOpenAi::start(vec![
        FakeReply::stream_error(400, "This model's maximum context length is 8192 tokens"),
        FakeReply::text("").then_error_event("upstream exploded"),
        FakeReply::text("Partial answer").then_error(502, "Provider disconnected"),
    ])
    .await
    .unwrap();
    let client = client(&server);

    let (result, _) = chat(&client, request("a")).await;
    match result.unwrap_err() {
        ModelError::Provider {
            status,
            message,
            retryable,
        } => {
            assert_eq!(status, None);
            assert!(message.contains("maximum context length"), "{message}");
            assert!(!retryable);
        }
        other => panic!("unexpected {other:?}"),
    }
    let (result, _) = chat(&client, request("b")).await;
    let error = result.unwrap_err();
    assert!(
        matches!(&error, ModelError::Provider { message, .. } if message.contains("upstream exploded")),
        "{error:?}"
    );
    // Retryable, but text was already streamed: the error is returned, not retried.
    let (result, deltas) = chat(&client, request("c")).await;
    let error = result.unwrap_err();
    assert!(
        matches!(&error, ModelError::Provider { message, retryable: true, .. } if message.contains("Provider disconnected")),
        "{error:?}"
    );
    assert_eq!(deltas.concat(), "Partial answer");
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn retryable_stream_error_before_any_text_is_retried() {
    let server = FakeOpenAi::start(vec![
        FakeReply::stream_error(502, "upstream overloaded"),
        FakeReply::text("recovered"),
    ])
    .await
    .unwrap();
    let (result, deltas) = chat(&client(&server), request("a")).await;
    assert_eq!(result.unwrap().content, "recovered");
    assert_eq!(deltas, ["recovered"]);
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn honours_retry_after_on_429() {
    let server = FakeOpenAi::start(vec![
        FakeReply::status(
            429,
            r#"{"error": {"message": "Rate limit exceeded", "code": 429}}"#,
        )
        .retry_after(1),
        FakeReply::text("finally"),
    ])
    .await
    .unwrap();
    let started = Instant::now();
    let (result, _) = chat(&client(&server), request("a")).await;
    let elapsed = started.elapsed();
    assert_eq!(result.unwrap().content, "finally");
    assert_eq!(server.request_count(), 2);
    assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn gives_up_after_max_retries() {
    let server = FakeOpenAi::start(vec![]).await.unwrap();
    server.set_default(FakeReply::status(
        500,
        r#"{"error": {"message": "Internal server error, try again"}}"#,
    ));
    let mut config = config_for(&server.base_url());
    config.max_retries = 2;
    let (result, _) = chat(&OpenAiClient::new(config).unwrap(), request("a")).await;
    match result.unwrap_err() {
        ModelError::Provider {
            status,
            message,
            retryable,
        } => {
            assert_eq!(status, Some(500));
            assert_eq!(message, "Internal server error, try again");
            assert!(retryable);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn rate_limits_are_waited_out_within_the_budget_beyond_max_retries() {
    let limited = || FakeReply::status(429, r#"{"error": {"message": "Rate limit exceeded"}}"#);
    let server = FakeOpenAi::start(vec![]).await.unwrap();
    for _ in 0..6 {
        server.push(limited());
    }
    server.push(FakeReply::text("after the limit"));
    let mut config = config_for(&server.base_url());
    config.max_retries = 1;
    config.rate_limit_budget = Duration::from_secs(5);
    let (result, _) = chat(&OpenAiClient::new(config).unwrap(), request("a")).await;
    assert_eq!(result.unwrap().content, "after the limit");
    assert_eq!(server.request_count(), 7);

    // Past the budget it gives up like any other error, and says why.
    let server = FakeOpenAi::start(vec![]).await.unwrap();
    server.set_default(limited());
    let mut config = config_for(&server.base_url());
    config.max_retries = 1;
    config.rate_limit_budget = Duration::from_millis(300);
    let started = Instant::now();
    let (result, _) = chat(&OpenAiClient::new(config).unwrap(), request("a")).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    match result.unwrap_err() {
        ModelError::Provider { status, .. } => assert_eq!(status, Some(429)),
        other => panic!("unexpected {other:?}"),
    }
    assert!(server.request_count() >= 2);

    // Other server errors still stop at max_retries.
    let server = FakeOpenAi::start(vec![]).await.unwrap();
    server.set_default(FakeReply::status(500, r#"{"error": {"message": "boom"}}"#));
    let mut config = config_for(&server.base_url());
    config.max_retries = 1;
    config.rate_limit_budget = Duration::from_secs(5);
    let (result, _) = chat(&OpenAiClient::new(config).unwrap(), request("a")).await;
    assert!(result.is_err());
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn a_garbage_answer_before_any_text_is_asked_again() {
    let server = FakeOpenAi::start(vec![
        FakeReply::status(200, "<html><body>502 Bad Gateway</body></html>"),
        FakeReply::text("a real answer"),
    ])
    .await
    .unwrap();
    let (result, _) = chat(&client(&server), request("a")).await;
    assert_eq!(result.unwrap().content, "a real answer");
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_name_the_model() {
    let server = FakeOpenAi::start(vec![
        FakeReply::status(
            404,
            r#"{"error": {"message": "The model `gpt-nope` does not exist", "code": "model_not_found"}}"#,
        ),
        FakeReply::status(404, "<html>404 page not found</html>"),
        FakeReply::status(400, r#"{"error": "nope is not a valid model ID"}"#),
    ])
    .await
    .unwrap();
    let client = client(&server);
    for expected in [
        "does not exist",
        "404 page not found",
        "not a valid model ID",
    ] {
        let mut req = request("a");
        req.model = Some("gpt-nope".into());
        let (result, _) = chat(&client, req).await;
        let error = result.unwrap_err();
        let text = error.to_string();
        assert!(text.contains("`gpt-nope`"), "{text}");
        assert!(text.contains(expected), "{text}");
        assert!(!error.retryable());
    }
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn never_retries_once_text_was_streamed() {
    let server = FakeOpenAi::start(vec![FakeReply::text("Hello world again").then_drop()])
        .await
        .unwrap();
    let (result, deltas) = chat(&client(&server), request("a")).await;
    let error = result.unwrap_err();
    assert!(
        matches!(&error, ModelError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(error.retryable(), "{error:?}");
    assert_eq!(deltas.concat(), "Hello world again");
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn dropped_connection_before_text_is_retried() {
    let server = FakeOpenAi::start(vec![FakeReply::text("").then_drop(), FakeReply::text("ok")])
        .await
        .unwrap();
    let (result, _) = chat(&client(&server), request("a")).await;
    assert_eq!(result.unwrap().content, "ok");
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn unreachable_port_fails_fast_without_leaking_the_key() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let base_url = format!("http://user:pw@127.0.0.1:{port}/v1");
    let mut config = config_for(&base_url);
    config.max_retries = 1;
    let started = Instant::now();
    let (result, _) = chat(&OpenAiClient::new(config).unwrap(), request("a")).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let error = result.unwrap_err();
    match &error {
        ModelError::Unreachable { endpoint, .. } => {
            assert_eq!(endpoint, &format!("http://127.0.0.1:{port}/v1"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!error.to_string().contains("pw@"), "{error}");
    assert_no_key(&error);
}

#[tokio::test]
async fn request_timeout_when_the_server_never_answers() {
    let server = FakeOpenAi::start(vec![FakeReply::hang()]).await.unwrap();
    let mut config = config_for(&server.base_url());
    config.request_timeout = Duration::from_millis(300);
    config.max_retries = 0;
    let started = Instant::now();
    let (result, _) = chat(&OpenAiClient::new(config).unwrap(), request("a")).await;
    let error = result.unwrap_err();
    assert!(matches!(error, ModelError::Timeout(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn idle_timeout_when_the_stream_stalls() {
    let server = FakeOpenAi::start(vec![FakeReply::text("Hello world").then_hang()])
        .await
        .unwrap();
    let mut config = config_for(&server.base_url());
    config.idle_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let (result, deltas) = chat(&OpenAiClient::new(config).unwrap(), request("a")).await;
    let elapsed = started.elapsed();
    assert!(matches!(result, Err(ModelError::Timeout(_))), "{result:?}");
    assert_eq!(deltas.concat(), "Hello world");
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    // Text was streamed, so the timeout is not retried.
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn cancellation_mid_stream_returns_promptly() {
    let server = FakeOpenAi::start(vec![
        FakeReply::text("one two three four five six seven eight")
            .chunk_delay(Duration::from_millis(200)),
    ])
    .await
    .unwrap();
    let client = client(&server);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let mut deltas = Vec::new();
    let started = Instant::now();
    let result = client
        .chat(
            request("count"),
            &mut |d: &str| {
                deltas.push(d.to_owned());
                trigger.cancel();
            },
            &cancel,
        )
        .await;
    assert_eq!(result.unwrap_err(), ModelError::Cancelled);
    assert!(started.elapsed() < Duration::from_millis(600));
    assert_eq!(deltas, ["one "]);
}

#[tokio::test]
async fn cancellation_interrupts_backoff() {
    let server = FakeOpenAi::start(vec![
        FakeReply::status(429, r#"{"error": {"message": "slow down"}}"#).retry_after(20),
    ])
    .await
    .unwrap();
    let client = client(&server);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let result = client.chat(request("a"), &mut |_: &str| {}, &cancel).await;
    assert_eq!(result.unwrap_err(), ModelError::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn api_key_never_appears_in_errors_or_debug_output() {
    let server = FakeOpenAi::start(vec![
        // Some providers echo the rejected key.
        FakeReply::status(
            401,
            format!(r#"{{"error": {{"message": "Incorrect API key provided: {KEY}"}}}}"#),
        ),
        FakeReply::stream_error(400, format!("bad key {KEY}")),
    ])
    .await
    .unwrap();
    let client = client(&server);
    let (result, _) = chat(&client, request("a")).await;
    let error = result.unwrap_err();
    assert_no_key(&error);
    assert!(error.to_string().contains("Incorrect API key"), "{error}");
    assert!(error.to_string().contains("CADRE_LLM_API_KEY"), "{error}");
    let (result, _) = chat(&client, request("b")).await;
    assert_no_key(&result.unwrap_err());
    assert!(!format!("{client:?}").contains(KEY));
    assert!(!format!("{:?}", client.config()).contains(KEY));
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn concurrent_calls_with_conditional_replies_and_latency() {
    let replies = (0..20)
        .rev()
        .map(|i| {
            FakeReply::when_contains(
                format!("task #{i}."),
                FakeReply::text(format!("answer {i}")),
            )
        })
        .collect();
    let server = FakeOpenAi::start(replies)
        .await
        .unwrap()
        .with_latency(Duration::from_millis(200));
    let client = Arc::new(client(&server));
    let started = Instant::now();
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let client = Arc::clone(&client);
            tokio::spawn(async move {
                let (result, _) = chat(&client, request(&format!("task #{i}."))).await;
                (i, result.unwrap())
            })
        })
        .collect();
    let mut total = 0;
    for handle in handles {
        let (i, response) = handle.await.unwrap();
        assert_eq!(response.content, format!("answer {i}"));
        total += response.usage.total_tokens();
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(server.pending_replies(), 0);
    assert_eq!(server.reported_usage().total_tokens(), total);
}

#[tokio::test]
async fn responder_computes_replies_from_the_request() {
    let server = FakeOpenAi::start(vec![]).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    server.set_responder(move |body| {
        let last = body["messages"][1]["content"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        log.lock().unwrap().push(last.clone());
        FakeReply::text(format!("echo: {last}"))
    });
    let (result, _) = chat(&client(&server), request("ping")).await;
    assert_eq!(result.unwrap().content, "echo: ping");
    assert_eq!(*seen.lock().unwrap(), ["ping"]);
}

#[tokio::test]
async fn default_reply_answers_when_the_queue_is_empty() {
    let server = FakeOpenAi::start(vec![]).await.unwrap();
    let (result, deltas) = chat(&client(&server), request("anything")).await;
    let response = result.unwrap();
    assert!(!response.content.is_empty());
    assert_eq!(deltas.concat(), response.content);
    assert!(response.usage.prompt_tokens > 0 && response.usage.completion_tokens > 0);
    assert_eq!(
        server.reported_usage().total_tokens(),
        response.usage.total_tokens()
    );
}

#[tokio::test]
async fn drops_stream_options_when_the_server_rejects_them() {
    let server = FakeOpenAi::start(vec![
        FakeReply::status(
            400,
            r#"{"error": {"message": "Unrecognized request argument supplied: stream_options"}}"#,
        ),
        FakeReply::text("fine without usage options"),
    ])
    .await
    .unwrap();
    let mut config = config_for(&server.base_url());
    config.max_retries = 0;
    let (result, _) = chat(&OpenAiClient::new(config).unwrap(), request("a")).await;
    assert_eq!(result.unwrap().content, "fine without usage options");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].get("stream_options").is_some());
    assert!(requests[1].get("stream_options").is_none());
    assert_eq!(requests[1]["stream"], true);
}
