//! Compute's read budgets (see `shared/facts/anchors.md` §2, "Microsoft.Compute limits"):
//! `HighCostGet` (VM list / list all: per subscription, bucket 900, refill 300 per minute) and
//! `LowCostGet` (VM get, instance view, extension get and list: per VM bucket 36, refill 12 per
//! minute; per subscription bucket 24,000, refill 8,000 per minute).
//!
//! Kept apart from [`crate::throttle`] (ARM's subscription buckets and Compute's write and poll
//! policies) but switched on by the same `enabled` flag. Like ARM, Compute counts a request only
//! once ARM has let it through.

use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::throttle::BucketSpec;

/// A Compute read policy and the scope its bucket is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ReadPolicy {
    /// `List` / `List All` of VMs, per subscription.
    HighCostGet,
    /// A VM-scoped read (extension list), per VM.
    LowCostGetVm,
    /// The same reads, summed over the subscription.
    LowCostGetSubscription,
}

impl ReadPolicy {
    /// The `x-ms-ratelimit-remaining-resource` entry name.
    pub(crate) fn header_name(self) -> &'static str {
        match self {
            ReadPolicy::HighCostGet => "Microsoft.Compute/HighCostGet",
            ReadPolicy::LowCostGetVm => "Microsoft.Compute/LowCostGet",
            ReadPolicy::LowCostGetSubscription => "Microsoft.Compute/LowCostGetSubscription",
        }
    }
}

/// Compute's read budgets; every field defaults to Azure's documented figures. Enforced only
/// when throttling is enabled (`ThrottleSettings::enabled`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ComputeReadSettings {
    /// `HighCostGet`: VM lists, per subscription.
    pub high_cost_get_subscription: BucketSpec,
    /// `LowCostGet`: VM-scoped reads (extension lists), per VM.
    pub low_cost_get_vm: BucketSpec,
    /// `LowCostGetSubscription`: the same reads, per subscription.
    pub low_cost_get_subscription: BucketSpec,
}

impl Default for ComputeReadSettings {
    fn default() -> Self {
        ComputeReadSettings {
            high_cost_get_subscription: BucketSpec {
                capacity: 900.0,
                refill_per_sec: 300.0 / 60.0,
            },
            low_cost_get_vm: BucketSpec {
                capacity: 36.0,
                refill_per_sec: 12.0 / 60.0,
            },
            low_cost_get_subscription: BucketSpec {
                capacity: 24_000.0,
                refill_per_sec: 8_000.0 / 60.0,
            },
        }
    }
}

/// A refused read: which policy, its capacity and when a token is back.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadThrottled {
    pub policy: ReadPolicy,
    pub capacity: u64,
    pub retry_after_secs: u64,
}

#[derive(Debug, Default)]
pub(crate) struct ComputeReads {
    pub settings: ComputeReadSettings,
    /// (policy, scope) → (tokens, last refill).
    buckets: HashMap<(ReadPolicy, String), (f64, Instant)>,
}

impl ComputeReads {
    pub(crate) fn configure(&mut self, settings: ComputeReadSettings) {
        self.settings = settings;
        self.buckets.clear();
    }

    fn spec(&self, policy: ReadPolicy) -> BucketSpec {
        match policy {
            ReadPolicy::HighCostGet => self.settings.high_cost_get_subscription,
            ReadPolicy::LowCostGetVm => self.settings.low_cost_get_vm,
            ReadPolicy::LowCostGetSubscription => self.settings.low_cost_get_subscription,
        }
    }

    /// Takes one token from each `(policy, scope)` bucket, or none when one is empty and
    /// `enforce` is set; returns what remains in each.
    pub(crate) fn draw(
        &mut self,
        wanted: &[(ReadPolicy, String)],
        enforce: bool,
        now: Instant,
    ) -> Result<Vec<(ReadPolicy, u64)>, ReadThrottled> {
        for (policy, scope) in wanted {
            let spec = self.spec(*policy);
            let (tokens, updated) = self
                .buckets
                .entry((*policy, scope.clone()))
                .or_insert((spec.capacity, now));
            let elapsed = now.saturating_duration_since(*updated).as_secs_f64();
            *tokens = (*tokens + elapsed * spec.refill_per_sec).min(spec.capacity);
            *updated = now;
            if enforce && *tokens < 1.0 {
                let wait = if spec.refill_per_sec > 0.0 {
                    ((1.0 - *tokens) / spec.refill_per_sec).ceil() as u64
                } else {
                    3600
                };
                return Err(ReadThrottled {
                    policy: *policy,
                    capacity: spec.capacity as u64,
                    retry_after_secs: wait.max(1),
                });
            }
        }
        Ok(wanted
            .iter()
            .filter_map(|(policy, scope)| {
                let (tokens, _) = self.buckets.get_mut(&(*policy, scope.clone()))?;
                *tokens = (*tokens - 1.0).max(0.0);
                Some((*policy, tokens.floor() as u64))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn per_vm_bucket_empties_and_refills() {
        let mut reads = ComputeReads::default();
        let now = Instant::now();
        let wanted = [(ReadPolicy::LowCostGetVm, "vm-1".to_string())];
        for i in 0..36 {
            let left = reads.draw(&wanted, true, now).expect("within the burst");
            assert_eq!(left[0].1, 35 - i);
        }
        let refused = reads
            .draw(&wanted, true, now)
            .expect_err("37th read refused");
        assert_eq!(refused.policy, ReadPolicy::LowCostGetVm);
        assert_eq!(
            refused.retry_after_secs, 5,
            "12 per minute: one token every 5 s"
        );
        // Another VM has its own bucket; counting without enforcing never refuses.
        assert!(
            reads
                .draw(&[(ReadPolicy::LowCostGetVm, "vm-2".into())], true, now)
                .is_ok()
        );
        assert!(reads.draw(&wanted, false, now).is_ok());
        assert!(
            reads
                .draw(&wanted, true, now + Duration::from_secs(5))
                .is_ok()
        );
    }
}
