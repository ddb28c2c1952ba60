//! Token-bucket throttling modelled on ARM and Compute (see
//! `shared/facts/anchors.md` §2): subscription reads and writes, Compute's
//! per-VM `UpdateVM` policy (extension create/update/delete) and
//! `GetOperation` policy (operation polls).
//!
//! Buckets are always counted so the `x-ms-ratelimit-remaining-*` headers are
//! meaningful; requests are refused only when throttling is enabled.

use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// A token bucket: it holds at most `capacity` tokens and gains `refill_per_sec` a second;
/// each request takes one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BucketSpec {
    /// The most tokens it holds (the burst), and what it starts with.
    pub capacity: f64,
    /// Tokens gained per second.
    pub refill_per_sec: f64,
}

/// ARM's and Compute's throttling; every field defaults to Azure's documented figures and
/// `enabled` to `false`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottleSettings {
    /// Refuse requests (429) when a bucket is empty; buckets are counted either way.
    pub enabled: bool,
    /// ARM's reads per subscription (and per tenant for the subscription list).
    pub subscription_reads: BucketSpec,
    /// ARM's writes per subscription.
    pub subscription_writes: BucketSpec,
    /// Compute's `UpdateVM` policy: extension writes per VM.
    pub vm_updates: BucketSpec,
    /// Compute's `GetOperation` policy: operation polls per VM.
    pub operation_polls: BucketSpec,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            enabled: false,
            subscription_reads: BucketSpec {
                capacity: 250.0,
                refill_per_sec: 25.0,
            },
            subscription_writes: BucketSpec {
                capacity: 200.0,
                refill_per_sec: 10.0,
            },
            vm_updates: BucketSpec {
                capacity: 12.0,
                refill_per_sec: 4.0 / 60.0,
            },
            operation_polls: BucketSpec {
                capacity: 45.0,
                refill_per_sec: 15.0 / 60.0,
            },
        }
    }
}

/// Which bucket a request draws from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Policy {
    SubscriptionReads,
    SubscriptionWrites,
    UpdateVm,
    GetOperation,
}

impl Policy {
    /// The response header that reports this bucket, and its value prefix.
    pub(crate) fn header(&self) -> (&'static str, &'static str) {
        match self {
            Policy::SubscriptionReads => ("x-ms-ratelimit-remaining-subscription-reads", ""),
            Policy::SubscriptionWrites => ("x-ms-ratelimit-remaining-subscription-writes", ""),
            Policy::UpdateVm => (
                "x-ms-ratelimit-remaining-resource",
                "Microsoft.Compute/UpdateVM;",
            ),
            Policy::GetOperation => (
                "x-ms-ratelimit-remaining-resource",
                "Microsoft.Compute/GetOperation;",
            ),
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            Policy::SubscriptionReads => "SubscriptionReads",
            Policy::SubscriptionWrites => "SubscriptionWrites",
            Policy::UpdateVm => "UpdateVM",
            Policy::GetOperation => "GetOperation",
        }
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The outcome of drawing from a set of buckets.
#[derive(Debug)]
pub(crate) enum Draw {
    /// Allowed; the remaining count per policy.
    Allowed(Vec<(Policy, u64)>),
    /// Refused by `policy`; a token is available after `retry_after_secs`.
    Throttled {
        policy: Policy,
        capacity: u64,
        retry_after_secs: u64,
    },
}

#[derive(Debug, Default)]
pub(crate) struct Throttle {
    pub settings: ThrottleSettings,
    buckets: HashMap<(String, String), Bucket>,
}

impl Throttle {
    fn spec(&self, policy: &Policy) -> BucketSpec {
        match policy {
            Policy::SubscriptionReads => self.settings.subscription_reads,
            Policy::SubscriptionWrites => self.settings.subscription_writes,
            Policy::UpdateVm => self.settings.vm_updates,
            Policy::GetOperation => self.settings.operation_polls,
        }
    }

    pub(crate) fn configure(&mut self, settings: ThrottleSettings) {
        self.settings = settings;
        self.buckets.clear();
    }

    /// Takes one token from each `(policy, scope)` bucket, or none if any is empty
    /// and throttling is enabled.
    pub(crate) fn draw(&mut self, wanted: &[(Policy, String)], now: Instant) -> Draw {
        for (policy, scope) in wanted {
            let spec = self.spec(policy);
            let bucket = self
                .buckets
                .entry((policy.name().to_string(), scope.clone()))
                .or_insert(Bucket {
                    tokens: spec.capacity,
                    updated: now,
                });
            let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * spec.refill_per_sec).min(spec.capacity);
            bucket.updated = now;
            if self.settings.enabled && bucket.tokens < 1.0 {
                let wait = if spec.refill_per_sec > 0.0 {
                    ((1.0 - bucket.tokens) / spec.refill_per_sec).ceil() as u64
                } else {
                    3600
                };
                return Draw::Throttled {
                    policy: policy.clone(),
                    capacity: spec.capacity as u64,
                    retry_after_secs: wait.max(1),
                };
            }
        }
        let mut remaining = Vec::new();
        for (policy, scope) in wanted {
            if let Some(bucket) = self
                .buckets
                .get_mut(&(policy.name().to_string(), scope.clone()))
            {
                bucket.tokens = (bucket.tokens - 1.0).max(0.0);
                remaining.push((policy.clone(), bucket.tokens.floor() as u64));
            }
        }
        Draw::Allowed(remaining)
    }
}
