//! Throttling modelled on ARM and Compute (see `shared/facts/anchors.md` §2):
//! subscription reads and writes, Compute's per-VM `UpdateVM` policy (extension
//! create/update/delete) and `GetOperation` policy (operation polls).
//!
//! Each budget is a token bucket (ARM's current model, the default) or a window
//! that counts the last `seconds` seconds' requests against `limit` (Compute's
//! per-VM policies and ARM's older hourly limits are windows). Budgets are
//! always counted so the `x-ms-ratelimit-remaining-*` headers are meaningful;
//! requests are refused only when throttling is enabled.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

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

/// A sliding window: at most `limit` requests counted in any `seconds` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowSpec {
    /// Requests the window admits.
    pub limit: u64,
    /// The window's length.
    pub seconds: f64,
}

/// The budgets counted as windows instead of buckets; a budget named here ignores its
/// [`BucketSpec`]. All `None` by default (every budget a bucket).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WindowBudgets {
    /// ARM's reads per subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_reads: Option<WindowSpec>,
    /// ARM's writes per subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_writes: Option<WindowSpec>,
    /// Compute's `UpdateVM` policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_updates: Option<WindowSpec>,
    /// Compute's `GetOperation` policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_polls: Option<WindowSpec>,
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
    /// Budgets counted as windows rather than buckets (none by default). Kept apart from the
    /// bucket fields so settings written before windows existed read the same.
    pub windows: WindowBudgets,
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
            windows: WindowBudgets::default(),
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

/// What a budget is counted with.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Budget {
    Bucket(BucketSpec),
    Window(WindowSpec),
}

/// The count kept for one `(policy, scope)`.
#[derive(Debug, Clone)]
enum Counter {
    Bucket {
        tokens: f64,
        updated: Instant,
    },
    /// When each request still in the window was counted, oldest first.
    Window(VecDeque<Instant>),
}

impl Counter {
    fn new(budget: Budget, now: Instant) -> Counter {
        match budget {
            Budget::Bucket(spec) => Counter::Bucket {
                tokens: spec.capacity,
                updated: now,
            },
            Budget::Window(_) => Counter::Window(VecDeque::new()),
        }
    }

    /// Brings the count up to `now` (refill, or requests leaving the window); `None` when a
    /// request may be counted, else the whole seconds until one may.
    fn refresh(&mut self, budget: Budget, now: Instant) -> Option<u64> {
        match (self, budget) {
            (Counter::Bucket { tokens, updated }, Budget::Bucket(spec)) => {
                let elapsed = now.saturating_duration_since(*updated).as_secs_f64();
                *tokens = (*tokens + elapsed * spec.refill_per_sec).min(spec.capacity);
                *updated = now;
                (*tokens < 1.0).then(|| {
                    if spec.refill_per_sec > 0.0 {
                        ((1.0 - *tokens) / spec.refill_per_sec).ceil() as u64
                    } else {
                        3600
                    }
                })
            }
            (Counter::Window(counted), Budget::Window(spec)) => {
                let length = Duration::from_secs_f64(spec.seconds.max(0.0));
                // A request counted at `t` leaves the window at `t + length`.
                while counted.front().is_some_and(|t| *t + length <= now) {
                    counted.pop_front();
                }
                (counted.len() as u64 >= spec.limit).then(|| match counted.front() {
                    Some(oldest) => (*oldest + length)
                        .saturating_duration_since(now)
                        .as_secs_f64()
                        .ceil() as u64,
                    // A window of limit 0 never admits anything.
                    None => 3600,
                })
            }
            // The settings changed kind; `configure` clears the counters, so not reached.
            _ => None,
        }
    }

    /// Counts one request; what is left.
    fn take(&mut self, budget: Budget, now: Instant) -> u64 {
        match (self, budget) {
            (Counter::Bucket { tokens, .. }, _) => {
                *tokens = (*tokens - 1.0).max(0.0);
                tokens.floor() as u64
            }
            (Counter::Window(counted), Budget::Window(spec)) => {
                counted.push_back(now);
                spec.limit.saturating_sub(counted.len() as u64)
            }
            (Counter::Window(_), Budget::Bucket(_)) => 0,
        }
    }
}

/// The outcome of drawing from a set of buckets.
#[derive(Debug)]
pub(crate) enum Draw {
    /// Allowed; the remaining count per policy.
    Allowed(Vec<(Policy, u64)>),
    /// Refused by `policy`; a request is admitted again after `retry_after_secs`.
    Throttled {
        policy: Policy,
        capacity: u64,
        retry_after_secs: u64,
    },
}

#[derive(Debug, Default)]
pub(crate) struct Throttle {
    pub settings: ThrottleSettings,
    counters: HashMap<(String, String), Counter>,
}

impl Throttle {
    fn budget(&self, policy: &Policy) -> Budget {
        let s = &self.settings;
        let (bucket, window) = match policy {
            Policy::SubscriptionReads => (s.subscription_reads, s.windows.subscription_reads),
            Policy::SubscriptionWrites => (s.subscription_writes, s.windows.subscription_writes),
            Policy::UpdateVm => (s.vm_updates, s.windows.vm_updates),
            Policy::GetOperation => (s.operation_polls, s.windows.operation_polls),
        };
        window.map_or(Budget::Bucket(bucket), Budget::Window)
    }

    pub(crate) fn configure(&mut self, settings: ThrottleSettings) {
        self.settings = settings;
        self.counters.clear();
    }

    /// Counts one request in each `(policy, scope)` budget, or in none if any is used up
    /// and throttling is enabled.
    pub(crate) fn draw(&mut self, wanted: &[(Policy, String)], now: Instant) -> Draw {
        for (policy, scope) in wanted {
            let budget = self.budget(policy);
            let counter = self
                .counters
                .entry((policy.name().to_string(), scope.clone()))
                .or_insert_with(|| Counter::new(budget, now));
            if let Some(wait) = counter
                .refresh(budget, now)
                .filter(|_| self.settings.enabled)
            {
                let capacity = match budget {
                    Budget::Bucket(spec) => spec.capacity as u64,
                    Budget::Window(spec) => spec.limit,
                };
                return Draw::Throttled {
                    policy: policy.clone(),
                    capacity,
                    retry_after_secs: wait.max(1),
                };
            }
        }
        let mut remaining = Vec::new();
        for (policy, scope) in wanted {
            let budget = self.budget(policy);
            if let Some(counter) = self
                .counters
                .get_mut(&(policy.name().to_string(), scope.clone()))
            {
                remaining.push((policy.clone(), counter.take(budget, now)));
            }
        }
        Draw::Allowed(remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writes(window: Option<WindowSpec>) -> Throttle {
        let mut t = Throttle::default();
        t.configure(ThrottleSettings {
            enabled: true,
            subscription_writes: BucketSpec {
                capacity: 3.0,
                refill_per_sec: 1.0,
            },
            windows: WindowBudgets {
                subscription_writes: window,
                ..WindowBudgets::default()
            },
            ..ThrottleSettings::default()
        });
        t
    }

    fn write(t: &mut Throttle, at: Instant) -> Result<u64, u64> {
        match t.draw(&[(Policy::SubscriptionWrites, "sub".into())], at) {
            Draw::Allowed(left) => Ok(left[0].1),
            Draw::Throttled {
                retry_after_secs, ..
            } => Err(retry_after_secs),
        }
    }

    #[test]
    fn a_window_counts_the_last_seconds_and_says_when_its_oldest_leaves() {
        let mut t = writes(Some(WindowSpec {
            limit: 3,
            seconds: 10.0,
        }));
        let t0 = Instant::now();
        let s = Duration::from_secs;
        assert_eq!(write(&mut t, t0), Ok(2));
        assert_eq!(write(&mut t, t0 + s(4)), Ok(1));
        assert_eq!(write(&mut t, t0 + Duration::from_millis(4500)), Ok(0));
        // Full: the oldest (t0) leaves at t0 + 10 s; 3.5 s from now rounds up to 4.
        assert_eq!(write(&mut t, t0 + Duration::from_millis(6500)), Err(4));
        assert_eq!(
            write(&mut t, t0 + Duration::from_millis(9999)),
            Err(1),
            "a refusal is never Retry-After 0"
        );
        // t0 left: one place, and the next refusal waits for the request at t0 + 4 s.
        assert_eq!(write(&mut t, t0 + s(10)), Ok(0));
        assert_eq!(write(&mut t, t0 + s(11)), Err(3));
        // Once all have left, the whole limit is back (no refill in between, unlike a bucket).
        assert_eq!(write(&mut t, t0 + s(30)), Ok(2));
    }

    #[test]
    fn refused_requests_are_not_counted_in_a_window() {
        let mut t = writes(Some(WindowSpec {
            limit: 1,
            seconds: 2.0,
        }));
        let t0 = Instant::now();
        assert_eq!(write(&mut t, t0), Ok(0));
        for ms in [100, 500, 1500] {
            assert!(write(&mut t, t0 + Duration::from_millis(ms)).is_err());
        }
        assert_eq!(write(&mut t, t0 + Duration::from_secs(2)), Ok(0));
    }

    #[test]
    fn a_window_reports_its_count_when_not_enforced() {
        let mut t = writes(Some(WindowSpec {
            limit: 2,
            seconds: 60.0,
        }));
        t.settings.enabled = false;
        let t0 = Instant::now();
        assert_eq!(write(&mut t, t0), Ok(1));
        assert_eq!(write(&mut t, t0), Ok(0));
        assert_eq!(write(&mut t, t0), Ok(0));
    }

    #[test]
    fn buckets_are_unchanged_by_default() {
        let mut t = writes(None);
        let t0 = Instant::now();
        assert_eq!(write(&mut t, t0), Ok(2));
        assert_eq!(write(&mut t, t0), Ok(1));
        assert_eq!(write(&mut t, t0), Ok(0));
        assert_eq!(write(&mut t, t0), Err(1));
        assert_eq!(write(&mut t, t0 + Duration::from_millis(1500)), Ok(0));
    }

    #[test]
    fn settings_without_windows_still_read() {
        let old =
            r#"{"enabled":true,"subscription_writes":{"capacity":10.0,"refill_per_sec":10.0}}"#;
        let s: ThrottleSettings = serde_json::from_str(old).expect("old settings");
        assert_eq!(s.windows, WindowBudgets::default());
        assert_eq!(s.subscription_writes.capacity, 10.0);
        let with = r#"{"windows":{"subscription_writes":{"limit":100,"seconds":5}}}"#;
        let s: ThrottleSettings = serde_json::from_str(with).expect("window settings");
        assert_eq!(
            s.windows.subscription_writes,
            Some(WindowSpec {
                limit: 100,
                seconds: 5.0
            })
        );
        let round = serde_json::to_string(&ThrottleSettings::default()).expect("json");
        assert!(round.contains(r#""windows":{}"#), "{round}");
    }
}
