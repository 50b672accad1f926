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
                if let Some(cost) = usage
                    .cost_usd
                    .filter(|cost| cost.is_finite() && *cost > 0.0)
                {
                    self.metrics
                        .llm_cost
                        .get_or_create(&CostLabels {
                            gen_ai_provider_name: provider,
                            gen_ai_request_model: model_label,
                        })
                        .inc_by(cost);
                }
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
