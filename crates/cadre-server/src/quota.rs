//! Owns per-user daily quotas (`CADRE_DAILY_TOKENS_PER_USER`, `CADRE_DAILY_USD_PER_USER`):
//! what a user has left today (UTC), and the one gate both ends ask,
//! [`Quotas::allowance`]. The API refuses new runs once a quota is used up; the worker
//! fails a run that starts over quota and caps the budgets of the others at what is left
//! ([`Remaining::cap`]), so a run stops with reason `token_budget` / `cost_budget`
//! instead of overspending.

use cadre_core::{RunOverrides, UsageTotals};
use cadre_store::{Store, StoreError};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use uuid::Uuid;

/// Daily limits per user; `None`: unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Quotas {
    /// Prompt + completion tokens per day.
    pub daily_tokens: Option<u64>,
    /// Spend per day, USD.
    pub daily_usd: Option<f64>,
}

/// What a user may still spend today.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Remaining {
    /// Tokens left (`None`: unlimited).
    pub tokens: Option<u64>,
    /// USD left (`None`: unlimited).
    pub usd: Option<f64>,
}

impl Remaining {
    /// Whether a quota is used up.
    pub fn exhausted(&self) -> bool {
        self.tokens == Some(0) || self.usd.is_some_and(|usd| usd <= 0.0)
    }

    /// Lowers a run's token and cost budgets to what is left (a tighter budget of the
    /// run's own stays).
    pub fn cap(&self, overrides: &mut RunOverrides) {
        if let Some(tokens) = self.tokens {
            overrides.max_tokens = Some(overrides.max_tokens.map_or(tokens, |t| t.min(tokens)));
        }
        if let Some(usd) = self.usd {
            overrides.max_cost_usd = Some(overrides.max_cost_usd.map_or(usd, |c| c.min(usd)));
        }
    }
}

/// What the quota gate says about a new run of an owner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Allowance {
    /// No quota is set.
    Unlimited,
    /// Within the quotas, with what is left today.
    Within(Remaining),
    /// A quota is used up until the next reset.
    Exhausted {
        /// What the owner used today.
        used: UsageTotals,
    },
}

impl Quotas {
    /// Whether any quota is set.
    pub fn any(&self) -> bool {
        self.daily_tokens.is_some() || self.daily_usd.is_some()
    }

    /// The gate: what `owner` may still spend today, from their stored usage since
    /// midnight UTC (not read when no quota is set).
    pub async fn allowance(
        &self,
        store: &dyn Store,
        owner: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Allowance, StoreError> {
        if !self.any() {
            return Ok(Allowance::Unlimited);
        }
        let used = store.owner_usage_since(owner, start_of_day(now)).await?;
        let left = self.remaining(&used);
        Ok(if left.exhausted() {
            Allowance::Exhausted { used }
        } else {
            Allowance::Within(left)
        })
    }

    /// What is left after `used` today.
    pub fn remaining(&self, used: &UsageTotals) -> Remaining {
        Remaining {
            tokens: self
                .daily_tokens
                .map(|max| max.saturating_sub(used.total_tokens())),
            usd: self.daily_usd.map(|max| (max - used.cost_usd).max(0.0)),
        }
    }
}

/// The start of today (UTC), when daily quotas reset.
pub fn start_of_day(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive().and_time(NaiveTime::MIN).and_utc()
}

/// Time until the quotas reset.
pub fn until_reset(now: DateTime<Utc>) -> std::time::Duration {
    (start_of_day(now) + Duration::days(1) - now)
        .to_std()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_and_reset() {
        let quotas = Quotas {
            daily_tokens: Some(1000),
            daily_usd: Some(1.0),
        };
        let used = UsageTotals {
            prompt_tokens: 700,
            completion_tokens: 300,
            cost_usd: 0.4,
            calls: 3,
        };
        let left = quotas.remaining(&used);
        assert_eq!(left.tokens, Some(0));
        assert!((left.usd.unwrap() - 0.6).abs() < 1e-9);
        assert!(left.exhausted());
        assert!(!Quotas::default().remaining(&used).exhausted());
        let now = "2026-11-24T21:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(start_of_day(now).to_rfc3339(), "2026-11-24T00:00:00+00:00");
        assert_eq!(until_reset(now), std::time::Duration::from_secs(150 * 60));
    }
}
