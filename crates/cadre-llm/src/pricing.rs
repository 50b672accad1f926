//! Prices of models, for the cost of a call when the provider does not report it.
//!
//! This module owns the [`PriceTable`]: model name to USD per million prompt and
//! completion tokens. It is empty by default because built-in prices go stale; users
//! configure it with `CADRE_LLM_PRICES` (read in [`crate::config`]), a JSON object such as
//! `{"gpt-4o-mini": {"prompt": 0.15, "completion": 0.6}}`.

use std::collections::HashMap;

use cadre_core::{ModelError, Usage};
use serde::Deserialize;

/// Price of one model, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// USD per million prompt (input) tokens.
    pub prompt: f64,
    /// USD per million completion (output) tokens.
    pub completion: f64,
}

/// Model name to [`Price`]. Empty by default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    prices: HashMap<String, Price>,
}

impl PriceTable {
    /// An empty table: no call has a computed cost.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `{"model": {"prompt": 0.15, "completion": 0.6}, …}` (USD per 1M tokens).
    pub fn from_json(json: &str) -> Result<Self, ModelError> {
        let prices: HashMap<String, Price> = serde_json::from_str(json).map_err(|e| {
            ModelError::Config(format!(
                "invalid price table (expected {{\"model\": {{\"prompt\": 0.15, \"completion\": 0.6}}}}): {e}"
            ))
        })?;
        for (model, price) in &prices {
            let valid = |v: f64| v.is_finite() && v >= 0.0;
            if !valid(price.prompt) || !valid(price.completion) {
                return Err(ModelError::Config(format!(
                    "invalid price for model `{model}`: prices must be non-negative numbers"
                )));
            }
        }
        Ok(Self { prices })
    }

    /// Sets the price of one model.
    pub fn insert(&mut self, model: impl Into<String>, price: Price) {
        self.prices.insert(model.into(), price);
    }

    /// Whether no price is configured.
    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }

    /// The price of `model`: the exact name first, then the name without its provider
    /// prefix, so that `openai/gpt-4o-mini` (OpenRouter) finds a `gpt-4o-mini` entry.
    pub fn get(&self, model: &str) -> Option<Price> {
        self.prices.get(model).copied().or_else(|| {
            let (_, bare) = model.rsplit_once('/')?;
            self.prices.get(bare).copied()
        })
    }

    /// Cost in USD of `usage` on `model`, or `None` when the model has no price.
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<f64> {
        let price = self.get(model)?;
        // u64 -> f64 loses precision only beyond 2^53 tokens.
        Some(
            (usage.prompt_tokens as f64 * price.prompt
                + usage.completion_tokens as f64 * price.completion)
                / 1_000_000.0,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(prompt: u64, completion: u64) -> Usage {
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            cost_usd: None,
        }
    }

    #[test]
    fn empty_table_has_no_cost() {
        assert_eq!(PriceTable::new().cost("gpt-4o-mini", &usage(10, 10)), None);
    }

    #[test]
    fn cost_is_per_million_tokens() {
        let table =
            PriceTable::from_json(r#"{"gpt-4o-mini": {"prompt": 0.15, "completion": 0.6}}"#)
                .unwrap();
        let cost = table
            .cost("gpt-4o-mini", &usage(1_000_000, 500_000))
            .unwrap();
        assert!((cost - 0.45).abs() < 1e-9, "{cost}");
        let prefixed = table
            .cost("openai/gpt-4o-mini", &usage(1_000_000, 0))
            .unwrap();
        assert!((prefixed - 0.15).abs() < 1e-9);
        assert_eq!(table.cost("other", &usage(1, 1)), None);
    }

    #[test]
    fn rejects_malformed_tables() {
        for bad in [
            "[]",
            r#"{"m": {"prompt": 1}}"#,
            r#"{"m": {"prompt": -1, "completion": 1}}"#,
            r#"{"m": {"prompt": 1, "completion": 1, "extra": 2}}"#,
        ] {
            let err = PriceTable::from_json(bad).unwrap_err();
            assert!(matches!(err, ModelError::Config(_)), "{bad}: {err:?}");
        }
    }
}
