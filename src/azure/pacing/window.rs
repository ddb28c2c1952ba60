//! Fitting a window to our own requests, for budgets that count the requests of the last
//! seconds (Compute's per-VM policies, a subscription budget modelled that way) instead of
//! refilling a bucket.
//!
//! A count `remaining` after one of our requests says the budget holds `capacity − remaining`
//! requests, this one included. Our requests answered before this one was sent were counted
//! before it, and at most `capacity − remaining − 1` of them are still held: the earliest of the
//! rest have left the window. The newest of those that must have left bounds the window's
//! length: at most from its send to this one's answer (a request is counted in between). Our
//! requests then go as our earlier ones leave: one counted at the midpoint of its send and answer
//! (the instant the server counted it, give or take the difference of the two legs' times) leaves
//! the window that bound later.
//!
//! The fit paces a budget only once the budget has refused us (a bucket that never runs dry
//! needs no window), and only while it holds. A count lower than the fit allows (fewer left
//! than our requests the fit has seen leave, beyond those still out) means the budget is not a
//! window of our requests alone — a refilling bucket looks like one whose oldest requests left,
//! until it runs dry — and drops the bound; a refusal while the fit said there was room means the
//! window is longer than fitted, and widens it. After [`MAX_MISFITS`] of either, the bucket
//! estimate paces the budget again.
//!
//! The budget's own count has the last word: no more requests go out at once than the newest
//! count left, so the first requests into slots the fit says are free confirm them, and a wrong
//! fit costs a request rather than a burst.
//!
//! Under a fitted window the whole budget is used, with no reserve: a window fills in steps of
//! its whole capacity, so holding one request back would cost a whole window every `capacity`
//! requests.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Our counted requests kept: more than any window holds (ARM's subscription writes 200,
/// Compute's policies a few hundred).
const HISTORY: usize = 2048;
/// Added to the upper bound before a request goes in a slot one of ours left.
const MARGIN: Duration = Duration::from_millis(20);
/// How much longer the window is taken to be after it refused a request the fit had room for.
const WIDEN: Duration = Duration::from_millis(100);
/// Contradicted fits after which the budget is not taken for a window.
const MAX_MISFITS: u32 = 3;

/// What our own requests say of a budget that may count a window.
#[derive(Debug, Default)]
pub(super) struct WindowFit {
    /// Our counted requests, in the order their answers came.
    counted: VecDeque<Counted>,
    /// The window is at most this long, once some request of ours is known to have left it.
    hi: Option<Duration>,
    /// The count after our most recently sent request that has been answered: (sent, remaining).
    newest: Option<(Instant, f64)>,
    /// The budget has refused one of our requests.
    refused: bool,
    /// Fits dropped because a count or a refusal contradicted them.
    misfits: u32,
}

#[derive(Debug, Clone, Copy)]
struct Counted {
    sent: Instant,
    answered: Instant,
    /// When it was counted, taken as the midpoint of its send and answer.
    at: Instant,
}

impl WindowFit {
    /// One of our requests, sent at `sent`, was counted and answered at `answered` with
    /// `remaining` left of `capacity`; `in_flight` others are still out.
    pub(super) fn counted(
        &mut self,
        sent: Instant,
        answered: Instant,
        remaining: f64,
        capacity: f64,
        in_flight: u64,
    ) {
        if self.counted.len() == HISTORY {
            self.counted.pop_front();
        }
        let at = sent + answered.saturating_duration_since(sent) / 2;
        if let Some(hi) = self.hi.filter(|_| capacity >= 3.0) {
            // The fit's own count of what is free, against the budget's (which also counts
            // requests of ours still out).
            let held = self.counted.iter().filter(|c| c.at + hi > at).count();
            let fitted_free = capacity - held as f64;
            if remaining + 1.0 + in_flight as f64 + 1.0 < fitted_free {
                tracing::debug!(
                    remaining,
                    fitted_free,
                    "a count the window fit does not allow"
                );
                self.misfits += 1;
                self.hi = None;
            }
        }
        let mut before: Vec<Instant> = self
            .counted
            .iter()
            .filter(|c| c.answered <= sent)
            .map(|c| c.sent)
            .collect();
        let held_others = (capacity - remaining - 1.0).max(0.0) as usize;
        let gone = before.len().saturating_sub(held_others);
        if gone >= 1 && capacity >= 3.0 {
            let (_, left, _) = before.select_nth_unstable(gone - 1);
            // The `gone`-th earliest counted has left; it was counted after the `gone`-th
            // earliest send.
            let bound = answered.saturating_duration_since(*left);
            self.hi = Some(self.hi.map_or(bound, |hi| hi.min(bound)));
        }
        self.counted.push_back(Counted { sent, answered, at });
        if self.newest.is_none_or(|(s, _)| s <= sent) {
            self.newest = Some((sent, remaining));
        }
    }

    /// The budget refused one of our requests.
    pub(super) fn refused(&mut self) {
        if let Some(hi) = self.hi.filter(|_| self.fitted()) {
            tracing::debug!(
                hi_ms = hi.as_millis(),
                "a refusal where the window had room"
            );
            self.misfits += 1;
            self.hi = Some(hi + WIDEN);
        }
        self.refused = true;
    }

    /// `None` when no window paces this budget; else `Some(None)` when a request may go now,
    /// or `Some(Some(t))` when one of ours leaves the window at `t`.
    pub(super) fn room(
        &self,
        now: Instant,
        capacity: f64,
        in_flight: u64,
    ) -> Option<Option<Instant>> {
        let hi = self.hi.filter(|_| self.fitted() && capacity >= 3.0)?;
        let mut leaving: Vec<Instant> = self
            .counted
            .iter()
            .map(|c| c.at + hi + MARGIN)
            .filter(|t| *t > now)
            .collect();
        let limit = capacity as usize;
        let taken = leaving.len() + in_flight as usize;
        // The fit says when slots free; the budget's own count confirms them: no more out at
        // once than the newest count left, so a wrong fit costs one request, not a burst.
        let confirmed = self
            .newest
            .is_none_or(|(_, remaining)| (in_flight as f64) < remaining.max(0.0) + 1.0);
        if !confirmed {
            // An answer (which wakes the gate) brings the next count.
            return Some(Some(now + hi));
        }
        if taken < limit {
            return Some(None);
        }
        let must_leave = taken + 1 - limit;
        if must_leave > leaving.len() {
            // Requests out fill the window: their answers wake the gate.
            return Some(Some(now + hi));
        }
        let (_, at, _) = leaving.select_nth_unstable(must_leave - 1);
        Some(Some(*at))
    }

    fn fitted(&self) -> bool {
        self.refused && self.hi.is_some() && self.misfits < MAX_MISFITS
    }
}
