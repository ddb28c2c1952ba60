//! Pacing writes, and the reads of a listing, under ARM's and Compute's token buckets.
//!
//! Every operation of one provider process shares one [`Pacer`]. For each bucket that a request
//! draws from, it keeps an estimate of the tokens left: the last reported count, minus the
//! requests admitted since, plus the refill since. The buckets:
//! - a write: the subscription's writes (`x-ms-ratelimit-remaining-subscription-writes`, ARM:
//!   200, refilled 10/s) and the VM's `UpdateVM` policy (`x-ms-ratelimit-remaining-resource:
//!   Microsoft.Compute/UpdateVM…;N`, Compute: 12, refilled 4/min);
//! - a listing's read: the subscription's reads (`x-ms-ratelimit-remaining-subscription-reads`,
//!   ARM: 250, refilled 25/s).
//!
//! A request is admitted while the estimate stays above a one-token reserve, so the bucket is
//! never emptied by us; otherwise it waits for the refill. Until the first count is known, one
//! request goes alone (a probe) instead of a blind burst.
//!
//! The documented refill is only where the estimate starts: a budget may be scaled otherwise, or
//! be a window counting the last seconds' requests (Compute's per-VM policies), which gives
//! nothing back for a while and then everything at once. So the refill actually seen — the count
//! rising by more than the requests admitted since took from it — raises the assumed rate, and a
//! count that comes back higher than estimated (a window that slid) replaces the estimate at once.
//!
//! After a 429 the bucket is *closed* until its `Retry-After` has passed: every request on that
//! bucket waits for that one instant — one gate, not a timer per operation — and the assumed
//! refill rate is lowered, since the bucket ran dry faster than we thought. When it opens, the
//! count is not guessed from the rate: one request goes alone to learn it, as at the start.
//!
//! A window cannot be paced by a rate: its `Retry-After` has whole seconds, so each slide costs up
//! to a second of waiting, and between slides nothing comes back. So every bucket also fits a
//! window to our own requests ([`WindowFit`]): each count says how many requests the budget holds,
//! and our send and answer times say which of ours those can be, which bounds the window's length.
//! Once a bucket has refused us and a length fits, requests go as our own earlier ones leave the
//! window instead of into a 429. A fit that a later count or refusal contradicts is dropped.
//!
//! Single reads (a VM before a run, an operation's status) are not paced: they come one at a time
//! per operation, and a status poll that waited at a gate would delay `apply`.
//!
//! Imports `context`, `error` and `response`; the pipeline's `retry` policy imports this module,
//! never the other way round.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::http::headers::Headers;
use reqwest::StatusCode;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::context::OpContext;
use super::error::AzureError;
use super::response::header;

const SUBSCRIPTION_WRITES_HEADER: &str = "x-ms-ratelimit-remaining-subscription-writes";
const SUBSCRIPTION_READS_HEADER: &str = "x-ms-ratelimit-remaining-subscription-reads";
const RESOURCE_HEADER: &str = "x-ms-ratelimit-remaining-resource";
/// ARM's documented refill of the subscription write bucket.
const SUBSCRIPTION_WRITES_PER_SEC: f64 = 10.0;
/// ARM's documented refill of the subscription read bucket.
const SUBSCRIPTION_READS_PER_SEC: f64 = 25.0;
/// Compute's documented refill of a VM's `UpdateVM` bucket (4 per minute).
const VM_UPDATES_PER_SEC: f64 = 4.0 / 60.0;
/// The least time over which a refill is measured: the counts are whole numbers, so a shorter
/// span magnifies their rounding.
const REFILL_SPAN: Duration = Duration::from_secs(1);

/// Which bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
    /// The subscription's writes.
    Subscription(String),
    /// One VM's `UpdateVM` policy.
    Vm(String),
    /// The subscription's reads.
    SubscriptionReads(String),
}

impl Scope {
    /// The buckets a write to `url` draws from.
    pub(crate) fn writes_to(url: &reqwest::Url) -> Vec<Scope> {
        let segments = lowercase_segments(url);
        let mut scopes: Vec<Scope> = subscription_of(&segments)
            .map(Scope::Subscription)
            .into_iter()
            .collect();
        if let Some(i) = segments.iter().position(|s| s == "virtualmachines") {
            if i + 1 < segments.len() {
                scopes.push(Scope::Vm(segments[..=i + 1].join("/")));
            }
        }
        scopes
    }

    /// The bucket a listing's read of `url` is paced by.
    pub(crate) fn reads_of(url: &reqwest::Url) -> Vec<Scope> {
        subscription_of(&lowercase_segments(url))
            .map(Scope::SubscriptionReads)
            .into_iter()
            .collect()
    }

    fn is_subscription(&self) -> bool {
        matches!(self, Scope::Subscription(_) | Scope::SubscriptionReads(_))
    }

    fn default_rate(&self) -> f64 {
        match self {
            Scope::Subscription(_) => SUBSCRIPTION_WRITES_PER_SEC,
            Scope::Vm(_) => VM_UPDATES_PER_SEC,
            Scope::SubscriptionReads(_) => SUBSCRIPTION_READS_PER_SEC,
        }
    }

    /// The remaining count this bucket reports in `headers`.
    fn remaining(&self, headers: &Headers) -> Option<f64> {
        let count = |name| header(headers, name)?.trim().parse::<f64>().ok();
        match self {
            Scope::Subscription(_) => count(SUBSCRIPTION_WRITES_HEADER),
            Scope::SubscriptionReads(_) => count(SUBSCRIPTION_READS_HEADER),
            Scope::Vm(_) => header(headers, RESOURCE_HEADER)?
                .split(',')
                .filter_map(|entry| {
                    let (policy, count) = entry.trim().rsplit_once(';')?;
                    policy
                        .to_ascii_lowercase()
                        .contains("updatevm")
                        .then(|| count.trim().parse::<f64>().ok())?
                })
                .reduce(f64::min),
        }
    }
}

fn lowercase_segments(url: &reqwest::Url) -> Vec<String> {
    url.path_segments()
        .map(|s| s.map(str::to_ascii_lowercase).collect())
        .unwrap_or_default()
}

fn subscription_of(segments: &[String]) -> Option<String> {
    let i = segments.iter().position(|s| s == "subscriptions")?;
    segments.get(i + 1).cloned()
}

#[derive(Debug)]
struct Bucket {
    /// Assumed refill per second.
    rate: f64,
    /// Estimated tokens at `at`.
    tokens: f64,
    at: Instant,
    /// The largest count seen plus one: the bucket's size, as far as we know.
    capacity: f64,
    /// False until a response reported this bucket.
    known: bool,
    /// Responses carry no count for this bucket: nothing to pace by.
    unreported: bool,
    /// Some response has carried a count for this bucket.
    ever_reported: bool,
    /// A request is out to learn the count.
    probing: bool,
    /// Requests admitted so far (a sequence number for each).
    admitted: u64,
    /// Admitted requests whose answer has not come back yet.
    in_flight: u64,
    /// The newest request (by sequence number) whose count was learned.
    newest_seen: u64,
    /// Closed after a 429 until this instant.
    closed_until: Option<Instant>,
    /// Requests up to this one were sent before the last 429: their counts say nothing of
    /// what is left once the bucket opens.
    stale_up_to: u64,
    /// The count reported at an earlier instant, after request `seq`: where the refill seen since
    /// is measured from.
    since: Option<Sample>,
    /// The window our own requests fit, if the budget counts one.
    window: WindowFit,
}

/// One reported count.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    remaining: f64,
    seq: u64,
}

impl Bucket {
    fn new(scope: &Scope, now: Instant) -> Bucket {
        Bucket {
            rate: scope.default_rate(),
            tokens: 0.0,
            at: now,
            capacity: 1.0,
            known: false,
            unreported: false,
            ever_reported: false,
            probing: false,
            admitted: 0,
            in_flight: 0,
            newest_seen: 0,
            closed_until: None,
            stale_up_to: 0,
            since: None,
            window: WindowFit::default(),
        }
    }

    fn estimate(&self, now: Instant) -> f64 {
        (self.tokens + now.saturating_duration_since(self.at).as_secs_f64() * self.rate)
            .min(self.capacity)
    }

    fn reserve(&self) -> f64 {
        if self.capacity >= 3.0 { 1.0 } else { 0.0 }
    }

    /// `None` when a request may go now, else what to wait for.
    fn blocked(&self, now: Instant) -> Option<Wait> {
        if let Some(until) = self.closed_until.filter(|u| *u > now) {
            return Some(Wait::Until(until));
        }
        if !self.known {
            return self.probing.then_some(Wait::Probe);
        }
        if self.unreported {
            return None;
        }
        if let Some(room) = self.window.room(now, self.capacity, self.in_flight) {
            return room.map(Wait::Until);
        }
        let need = 1.0 + self.reserve();
        let est = self.estimate(now);
        if est >= need {
            None
        } else {
            Some(Wait::Until(
                now + Duration::from_secs_f64(((need - est) / self.rate).min(3600.0)),
            ))
        }
    }

    fn take(&mut self, now: Instant) -> u64 {
        if !self.known {
            self.probing = true;
        } else if !self.unreported {
            self.tokens = self.estimate(now) - 1.0;
            self.at = now;
        }
        self.admitted += 1;
        self.in_flight += 1;
        self.admitted
    }

    /// An admitted request is no longer out (answered, or failed without an answer); a probe
    /// ends with it.
    fn answered(&mut self) {
        self.probing = false;
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// The count one answer reported, `remaining` after request `seq` was counted. Other requests
    /// still out may reach ARM before or after it (connections differ), so none of them is
    /// assumed counted; answers to newer requests may raise the estimate, a late answer to an older
    /// one only lowers it.
    fn learn(&mut self, seq: u64, remaining: f64, now: Instant) {
        let tokens = remaining - self.in_flight as f64;
        if seq > self.newest_seen || tokens < self.estimate(now) {
            self.tokens = tokens;
            self.at = now;
        }
        if seq > self.newest_seen {
            self.measure_refill(seq, remaining, now);
        }
        self.newest_seen = self.newest_seen.max(seq);
    }

    /// Raises the assumed rate to the refill seen since the last sample, at least
    /// [`REFILL_SPAN`] ago: the count rose by `remaining - earlier`, and the requests admitted
    /// in between took one each. Requests still out are not counted as taken (the server may
    /// not have counted them yet), and one token is allowed for the rounding of the counts, so
    /// the rate seen errs low. Only raised here: a 429 lowers it.
    fn measure_refill(&mut self, seq: u64, remaining: f64, now: Instant) {
        let Some(earlier) = self.since else {
            self.since = Some(Sample {
                at: now,
                remaining,
                seq,
            });
            return;
        };
        let span = now.saturating_duration_since(earlier.at);
        if span < REFILL_SPAN {
            return;
        }
        let taken = (seq - earlier.seq) as f64 - self.in_flight as f64;
        let refilled = remaining - earlier.remaining + taken.max(0.0) - 1.0;
        let seen = refilled / span.as_secs_f64();
        if seen > self.rate {
            tracing::debug!(from = self.rate, to = seen, "refill faster than assumed");
            self.rate = seen;
        }
        self.since = Some(Sample {
            at: now,
            remaining,
            seq,
        });
    }
}

enum Wait {
    Until(Instant),
    Probe,
}

/// The gate of one provider process, for writes and for the reads of listings.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    buckets: Mutex<HashMap<Scope, Bucket>>,
    changed: Notify,
}

/// An admitted request: its sequence number in each of its buckets.
#[derive(Debug)]
pub(crate) struct Ticket {
    pacer: Arc<Pacer>,
    seqs: Vec<(Scope, u64)>,
    observed: bool,
    /// When it was admitted (sent, give or take a few microseconds).
    sent: Instant,
}

impl Drop for Ticket {
    /// A request that got no response (connection failure) ends its probe.
    fn drop(&mut self) {
        if !self.observed {
            let mut buckets = self.pacer.lock();
            for (scope, _) in &self.seqs {
                if let Some(b) = buckets.get_mut(scope) {
                    b.answered();
                }
            }
            drop(buckets);
            self.pacer.changed.notify_waiters();
        }
    }
}

impl Pacer {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Scope, Bucket>> {
        // The map holds estimates only; a panic elsewhere cannot make them unsafe to use.
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until a request drawing from `scopes` may go, within the operation's deadline.
    pub(crate) async fn admit(
        self: &Arc<Self>,
        scopes: &[Scope],
        op: &OpContext,
        what: &str,
    ) -> Result<Ticket, AzureError> {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait = {
                let mut buckets = self.lock();
                let now = Instant::now();
                let mut wait = None;
                for scope in scopes {
                    let b = buckets
                        .entry(scope.clone())
                        .or_insert_with(|| Bucket::new(scope, now));
                    match (b.blocked(now), &wait) {
                        (None, _) => {}
                        (Some(Wait::Until(t)), Some(Wait::Until(w))) if t <= *w => {}
                        (Some(w), _) => wait = Some(w),
                    }
                }
                if wait.is_none() {
                    let seqs = scopes
                        .iter()
                        .filter_map(|s| buckets.get_mut(s).map(|b| (s.clone(), b.take(now))))
                        .collect();
                    return Ok(Ticket {
                        pacer: self.clone(),
                        seqs,
                        observed: false,
                        sent: now,
                    });
                }
                wait
            };
            match wait {
                Some(Wait::Until(t)) => {
                    tracing::trace!(
                        wait_ms = t.saturating_duration_since(Instant::now()).as_millis(),
                        "request paced"
                    );
                    op.run(what, async {
                        tokio::select! {
                            _ = tokio::time::sleep_until(t) => {}
                            // A 429 elsewhere may close the gate for longer; re-check.
                            _ = notified => {}
                        }
                        Ok(())
                    })
                    .await?
                }
                _ => {
                    op.run(what, async {
                        notified.await;
                        Ok(())
                    })
                    .await?
                }
            }
        }
    }

    /// Learns the remaining counts from the response to an admitted request.
    pub(crate) fn observe(&self, mut ticket: Ticket, status: StatusCode, headers: &Headers) {
        ticket.observed = true;
        let now = Instant::now();
        {
            let mut buckets = self.lock();
            for (scope, seq) in &ticket.seqs {
                let Some(b) = buckets.get_mut(scope) else {
                    continue;
                };
                b.answered();
                if status != StatusCode::TOO_MANY_REQUESTS {
                    // Counted, even when sent before a 429: it is in the window all the same.
                    if let Some(remaining) = scope.remaining(headers) {
                        let capacity = b.capacity.max(remaining + 1.0);
                        b.window
                            .counted(ticket.sent, now, remaining, capacity, b.in_flight);
                    }
                }
                if status == StatusCode::TOO_MANY_REQUESTS || (!b.known && *seq <= b.stale_up_to) {
                    // `close_for` handles a refusal; a count from before one does not end the
                    // probe that follows it.
                    continue;
                }
                match scope.remaining(headers) {
                    Some(remaining) => {
                        b.known = true;
                        b.unreported = false;
                        b.ever_reported = true;
                        b.capacity = b.capacity.max(remaining + 1.0);
                        b.learn(*seq, remaining, now);
                    }
                    None if !b.known => {
                        // A count seen before (then a 429) still paces by the rate.
                        b.known = true;
                        b.unreported = !b.ever_reported;
                    }
                    None => {}
                }
            }
        }
        self.changed.notify_waiters();
    }

    /// After a 429 on a request drawing from `scopes`: closes the bucket that refused it for
    /// `wait`.
    pub(crate) fn close_for(&self, scopes: &[Scope], headers: Option<&Headers>, wait: Duration) {
        // The refusing bucket reports 0; without counts, it is the subscription's.
        let refusing = scopes
            .iter()
            .find(|s| headers.and_then(|h| s.remaining(h)) == Some(0.0))
            .or_else(|| scopes.iter().find(|s| s.is_subscription()))
            .cloned();
        let Some(scope) = refusing else { return };
        let now = Instant::now();
        let until = now + wait;
        {
            let mut buckets = self.lock();
            let b = buckets
                .entry(scope.clone())
                .or_insert_with(|| Bucket::new(&scope, now));
            b.closed_until = Some(b.closed_until.map_or(until, |u| u.max(until)));
            b.window.refused();
            // What is left when it opens depends on how the budget counts (a bucket has
            // refilled a little, a window may be whole again): one request goes first to learn it.
            b.known = false;
            b.unreported = false;
            b.probing = false;
            b.stale_up_to = b.admitted;
            b.tokens = 0.0;
            b.at = until;
            // It ran dry sooner than our estimate: assume a slower refill from now on.
            b.rate = (b.rate * 0.8).max(scope.default_rate() / 8.0);
            tracing::debug!(scope = ?scope, wait_ms = wait.as_millis(), rate = b.rate, "gate closed after a 429");
        }
        self.changed.notify_waiters();
    }
}

mod window;
use window::WindowFit;

#[cfg(test)]
mod tests;
