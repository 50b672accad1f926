//! [`ObservedModel`]: any [`ChatModel`] wrapped in the GenAI conventions. Each call is a
//! `chat {model}` client span (`gen_ai.operation.name`, `gen_ai.provider.name`,
//! `gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.usage.input_tokens` /
//! `output_tokens`, `gen_ai.response.finish_reasons`, `error.type`; the messages only
//! when content capture is on) and feeds the `gen_ai_client_*` histograms and the cost
//! counter. The wrapper changes nothing about the call itself.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use cadre_core::failure::RunFailure;
use cadre_core::model::{ChatModel, ChatRequest, ChatResponse, DeltaSink, ModelError, Purpose};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::metrics::{CostLabels, Metrics, ModelLabels, OperationLabels, TokenLabels};

/// The only GenAI operation the engine performs.
const CHAT: &str = "chat";

/// A model whose calls are measured and traced.
pub struct ObservedModel {
    inner: Arc<dyn ChatModel>,
    metrics: Arc<Metrics>,
    capture_content: bool,
}

impl ObservedModel {
    /// Wraps `inner`; spans carry prompts and replies only if `capture_content`.
    pub fn new(inner: Arc<dyn ChatModel>, metrics: Arc<Metrics>, capture_content: bool) -> Self {
        Self {
            inner,
            metrics,
            capture_content,
        }
    }
}

/// `error.type` of a failed call: the failure code a run would end with.
fn error_type(error: &ModelError) -> &'static str {
    RunFailure::from_model(error).map_or("cancelled", |failure| failure.code.as_str())
}

#[async_trait]
impl ChatModel for ObservedModel {
    fn model_name(&self) -> &str {
        self.inner.model_name()
    }

    fn provider_name(&self) -> &str {
        self.inner.provider_name()
    }

    async fn chat(
        &self,
        request: ChatRequest,
        on_delta: DeltaSink<'_>,
        cancel: &CancellationToken,
    ) -> Result<ChatResponse, ModelError> {
        let model = request
            .model
            .clone()
            .unwrap_or_else(|| self.inner.model_name().to_owned());
        let provider = self.inner.provider_name().to_owned();
        let agent = match &request.purpose {
            Purpose::AgentReply { agent }
            | Purpose::BuildSystemMessage { agent }
            | Purpose::BuildDescription { agent } => Some(agent.clone()),
            _ => None,
        };
        let span = tracing::info_span!(
            "chat",
            otel.name = %format_args!("{CHAT} {model}"),
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            gen_ai.operation.name = CHAT,
            gen_ai.provider.name = %provider,
            gen_ai.request.model = %model,
            gen_ai.request.temperature = request.temperature.map(f64::from),
            gen_ai.request.max_tokens = request.max_tokens,
            gen_ai.agent.name = agent.as_deref(),
            cadre.purpose = %request.purpose.label(),
            gen_ai.response.model = tracing::field::Empty,
            gen_ai.response.finish_reasons = tracing::field::Empty,
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
            error.type = tracing::field::Empty,
            gen_ai.input.messages = tracing::field::Empty,
            gen_ai.output.messages = tracing::field::Empty,
        );
        if self.capture_content
            && let Ok(messages) = serde_json::to_string(&request.messages)
        {
            span.record("gen_ai.input.messages", messages);
        }
        let model_label = self.metrics.model_label(&model);
        let labels = ModelLabels {
            gen_ai_operation_name: CHAT.to_owned(),
            gen_ai_provider_name: provider.clone(),
            gen_ai_request_model: model_label.clone(),
        };
        let started = Instant::now();
        let mut first_chunk = None;
        let mut observe_delta = |delta: &str| {
            first_chunk.get_or_insert_with(Instant::now);
            on_delta(delta);
        };
        let result = self
            .inner
            .chat(request, &mut observe_delta, cancel)
            .instrument(span.clone())
            .await;
        let elapsed = started.elapsed().as_secs_f64();
        let error = result.as_ref().err().map(error_type).unwrap_or_default();
        self.metrics
            .llm_duration
            .get_or_create(&OperationLabels {
                model: labels.clone(),
                error_type: error.to_owned(),
            })
            .observe(elapsed);
        match &result {
            Ok(response) => {
                if let Some(first) = first_chunk {
                    self.metrics
                        .llm_first_chunk
                        .get_or_create(&labels)
                        .observe((first - started).as_secs_f64());
                }
                let usage = &response.usage;
                for (kind, tokens) in [
                    ("input", usage.prompt_tokens),
                    ("output", usage.completion_tokens),
                ] {
                    self.metrics
                        .llm_tokens
                        .get_or_create(&TokenLabels {
                            model: labels.clone(),
                            gen_ai_token_type: kind.to_owned(),
                        })
                        .observe(tokens as f64);
                }
                // A call without a known cost still starts its model's series (at 0),
                // so spend panels show the model rather than no data.
                let cost = usage
                    .cost_usd
                    .filter(|cost| cost.is_finite() && *cost > 0.0)
                    .unwrap_or_default();
                self.metrics
                    .llm_cost
                    .get_or_create(&CostLabels {
                        gen_ai_provider_name: provider,
                        gen_ai_request_model: model_label,
                    })
                    .inc_by(cost);
                span.record("gen_ai.response.model", response.model.as_str());
                span.record("gen_ai.usage.input_tokens", usage.prompt_tokens);
                span.record("gen_ai.usage.output_tokens", usage.completion_tokens);
                if let Some(reason) = &response.finish_reason {
                    span.record(
                        "gen_ai.response.finish_reasons",
                        format!("[\"{}\"]", reason.escape_default()),
                    );
                }
                if self.capture_content {
                    let output = serde_json::json!([{
                        "role": "assistant",
                        "content": response.content,
                    }]);
                    span.record("gen_ai.output.messages", output.to_string());
                }
            }
            Err(failure) => {
                span.record("error.type", error);
                span.record("otel.status_code", "ERROR");
                tracing::debug!(parent: &span, error = %failure, "LLM call failed");
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::Role;
    use cadre_core::message::ChatMessage;
    use cadre_core::model::Usage;

    /// Streams two chunks then answers, or fails with `error`.
    struct Canned {
        error: Option<ModelError>,
    }

    #[async_trait]
    impl ChatModel for Canned {
        fn model_name(&self) -> &str {
            "canned-1"
        }

        fn provider_name(&self) -> &str {
            "openai"
        }

        async fn chat(
            &self,
            _request: ChatRequest,
            on_delta: DeltaSink<'_>,
            _cancel: &CancellationToken,
        ) -> Result<ChatResponse, ModelError> {
            if let Some(error) = &self.error {
                return Err(error.clone());
            }
            on_delta("Hel");
            on_delta("lo");
            Ok(ChatResponse {
                model: "canned-1-2026".into(),
                content: "Hello".into(),
                tool_calls: Vec::new(),
                usage: Usage {
                    prompt_tokens: 12,
                    completion_tokens: 2,
                    cost_usd: Some(0.25),
                },
                finish_reason: Some("stop".into()),
            })
        }
    }

    async fn call(model: &ObservedModel) -> Result<ChatResponse, ModelError> {
        let mut deltas = String::new();
        let result = model
            .chat(
                ChatRequest::new(Purpose::Other, vec![ChatMessage::user("hi")]),
                &mut |delta: &str| deltas.push_str(delta),
                &CancellationToken::new(),
            )
            .await;
        if result.is_ok() {
            assert_eq!(deltas, "Hello", "deltas pass through unchanged");
        }
        result
    }

    #[tokio::test]
    async fn calls_count_by_outcome_with_tokens_cost_and_first_chunk() {
        let metrics = Metrics::new(Role::Worker);
        let ok = ObservedModel::new(Arc::new(Canned { error: None }), metrics.clone(), false);
        let failing = ObservedModel::new(
            Arc::new(Canned {
                error: Some(ModelError::Timeout("no answer in 60 s".into())),
            }),
            metrics.clone(),
            false,
        );
        call(&ok).await.unwrap();
        call(&ok).await.unwrap();
        assert_eq!(
            call(&failing).await.unwrap_err(),
            ModelError::Timeout("no answer in 60 s".into())
        );
        let text = metrics.encode_for_tests();
        let model = r#"gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="canned-1""#;
        for line in [
            format!("gen_ai_client_operation_duration_seconds_count{{{model},error_type=\"\"}} 2"),
            format!(
                "gen_ai_client_operation_duration_seconds_count{{{model},error_type=\"llm_timeout\"}} 1"
            ),
            format!("gen_ai_client_token_usage_sum{{{model},gen_ai_token_type=\"input\"}} 24.0"),
            format!("gen_ai_client_token_usage_sum{{{model},gen_ai_token_type=\"output\"}} 4.0"),
            format!("gen_ai_client_operation_time_to_first_chunk_seconds_count{{{model}}} 2"),
            r#"cadre_llm_cost_usd_total{gen_ai_provider_name="openai",gen_ai_request_model="canned-1"} 0.5"#.to_string(),
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in:\n{text}");
        }
    }
}
