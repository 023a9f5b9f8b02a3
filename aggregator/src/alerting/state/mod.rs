//! What Alertmanager must be told, as a pure state machine: no I/O, no clock reads; every
//! call takes the time.
//!
//! The analysis hands over the complete set of alerts firing now ([`AlertState::update`]).
//! Compared with the previous set, an alert is new, changed (same labels, other annotations,
//! start or link), unchanged, or gone. A gone alert becomes a *pending resolve* ending at the
//! time of the update that no longer contained it.
//!
//! [`AlertState::due`] says what to send, always everything at once, because Alertmanager
//! forgets what it is not told again:
//! - every active alert, with `endsAt` = now + [`ACTIVE_LIFETIME_FACTOR`] × resend interval
//!   (Alertmanager's own convention: if the aggregator dies, its alerts expire there);
//! - every pending resolve, with `endsAt` = its resolve time.
//!
//! It is due when the set changed since the last successful push (a new, changed or gone
//! alert is sent at once), or when the resend interval has passed since the last successful
//! push (or the clock went backwards past it). The caller sends, then reports the outcome
//! with [`AlertState::delivered`] or [`AlertState::failed`]; the timing of retries after a
//! failure (backoff) is the caller's.
//!
//! Invariants:
//! - A failed push changes nothing but the counters: the next successful push carries every
//!   alert active then and every pending resolve, however long Alertmanager was away.
//! - A pending resolve stays until [`Policy::resolve_deliveries`] successful pushes carried
//!   it (one at once, the others with the periodic re-sends), so an Alertmanager that lost
//!   it (restart, one replica of a pair unreachable) still hears it. Never dropped by age.
//! - The pending resolves are bounded ([`Policy::max_pending_resolves`]): when full, the
//!   oldest is dropped, counted in `dropped_resolves` and reported by `update`. Alertmanager
//!   then ends that alert itself at the `endsAt` it last received (≤ 4 resend intervals).
//! - An alert that fires again (same labels) cancels its pending resolve.
//! - An alert Alertmanager would refuse ([`Alert::validate`]) is never sent, so it cannot
//!   make Alertmanager refuse the whole request; `update` reports it once, when it first
//!   appears. A previously valid alert that becomes invalid is resolved.

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use edgeward_proto::UnixMillis;

use super::alert::{Alert, InvalidAlert, Labels, Postable};

/// Active alerts are sent with `endsAt` this many resend intervals ahead (as Prometheus does).
pub const ACTIVE_LIFETIME_FACTOR: i64 = 4;
/// Default for [`Policy::resolve_deliveries`].
pub const RESOLVE_DELIVERIES: u32 = 3;
/// Default for [`Policy::max_pending_resolves`].
pub const MAX_PENDING_RESOLVES: usize = 10_000;

/// The knobs of the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Re-send everything this long after the last successful push (at least 1 ms).
    pub resend_every: Duration,
    /// Successful pushes that must carry a resolve before it is forgotten (at least 1).
    /// Default [`RESOLVE_DELIVERIES`].
    pub resolve_deliveries: u32,
    /// Bound of the pending resolves; when full the oldest is dropped.
    /// Default [`MAX_PENDING_RESOLVES`].
    pub max_pending_resolves: usize,
}

impl Policy {
    /// The default policy with this resend interval.
    pub fn new(resend_every: Duration) -> Self {
        Self {
            resend_every,
            resolve_deliveries: RESOLVE_DELIVERIES,
            max_pending_resolves: MAX_PENDING_RESOLVES,
        }
    }

    fn resend_millis(&self) -> i64 {
        i64::try_from(self.resend_every.as_millis())
            .unwrap_or(i64::MAX)
            .max(1)
    }
}

/// Counters and gauges for `/metrics` (counters only grow; gauges are as of the last step).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertingStats {
    /// Alerts firing now (as of the last update), valid ones only.
    pub active: usize,
    /// Resolves not yet carried by enough successful pushes.
    pub pending_resolves: usize,
    /// Alerts of the last update that Alertmanager would refuse, not sent.
    pub rejected: usize,
    /// Pushes accepted by at least one Alertmanager.
    pub pushes_ok: u64,
    /// Pushes no Alertmanager accepted.
    pub pushes_failed: u64,
    /// Pending resolves dropped because the bound was reached.
    pub dropped_resolves: u64,
    /// When a push last succeeded.
    pub last_success: Option<UnixMillis>,
    /// When a push last failed.
    pub last_failure: Option<UnixMillis>,
}

/// What an [`AlertState::update`] found worth logging.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct UpdateReport {
    /// Alerts refused for the first time (reported once while they keep being refused).
    pub rejected: Vec<(Labels, InvalidAlert)>,
    /// Pending resolves dropped by the bound, oldest first.
    pub dropped_resolves: Vec<Labels>,
}

/// One push to make: the body and what it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    alerts: Vec<Postable>,
    generation: u64,
    resolves: Vec<u64>,
}

impl Push {
    /// The alerts to send, active ones first (in label order), then the resolves.
    pub fn alerts(&self) -> &[Postable] {
        &self.alerts
    }
}

#[derive(Debug, Clone)]
struct Resolve {
    alert: Alert,
    resolved_at: UnixMillis,
    deliveries: u32,
}

/// The state machine; see the module doc.
#[derive(Debug, Clone)]
pub struct AlertState {
    policy: Policy,
    active: BTreeMap<Labels, Alert>,
    /// Pending resolves by sequence number, so the first is the oldest.
    resolves: BTreeMap<u64, Resolve>,
    /// Labels → sequence number of their pending resolve.
    resolve_index: BTreeMap<Labels, u64>,
    next_seq: u64,
    /// Bumped on every change of what must be sent.
    generation: u64,
    /// The generation the last successful push carried.
    delivered_generation: u64,
    rejected: BTreeSet<Labels>,
    stats: AlertingStats,
}

impl AlertState {
    /// Nothing active, nothing pending.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            active: BTreeMap::new(),
            resolves: BTreeMap::new(),
            resolve_index: BTreeMap::new(),
            next_seq: 0,
            generation: 0,
            delivered_generation: 0,
            rejected: BTreeSet::new(),
            stats: AlertingStats::default(),
        }
    }

    /// Takes the complete set of alerts firing at `now`. With duplicate labels, the last wins.
    pub fn update(&mut self, firing: &[Alert], now: UnixMillis) -> UpdateReport {
        let mut report = UpdateReport::default();
        let mut next = BTreeMap::new();
        let mut rejected = BTreeSet::new();
        for alert in firing {
            let alert = alert.clone().normalized();
            match alert.validate() {
                Ok(()) => {
                    next.insert(alert.labels.clone(), alert);
                }
                Err(error) => {
                    let first_time = !self.rejected.contains(&alert.labels);
                    if rejected.insert(alert.labels.clone()) && first_time {
                        report.rejected.push((alert.labels, error));
                    }
                }
            }
        }
        let mut changed = false;
        for (labels, alert) in &next {
            match self.active.get(labels) {
                Some(old) if old == alert => {}
                Some(_) => changed = true,
                None => {
                    changed = true;
                    if let Some(seq) = self.resolve_index.remove(labels) {
                        self.resolves.remove(&seq);
                    }
                }
            }
        }
        let previous = std::mem::replace(&mut self.active, next);
        for (labels, alert) in previous {
            if !self.active.contains_key(&labels) {
                changed = true;
                self.add_resolve(alert, now);
            }
        }
        while self.resolves.len() > self.policy.max_pending_resolves {
            let Some((_, dropped)) = self.resolves.pop_first() else {
                break;
            };
            self.resolve_index.remove(&dropped.alert.labels);
            self.stats.dropped_resolves += 1;
            report.dropped_resolves.push(dropped.alert.labels);
        }
        if changed {
            self.generation += 1;
        }
        self.rejected = rejected;
        report
    }

    fn add_resolve(&mut self, alert: Alert, now: UnixMillis) {
        if let Some(old) = self.resolve_index.remove(&alert.labels) {
            self.resolves.remove(&old);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.resolve_index.insert(alert.labels.clone(), seq);
        self.resolves.insert(
            seq,
            Resolve {
                alert,
                resolved_at: now,
                deliveries: 0,
            },
        );
    }

    /// What to send at `now`, if anything is due.
    pub fn due(&self, now: UnixMillis) -> Option<Push> {
        let next = self.next_due(now)?;
        if next.0 > now.0 {
            return None;
        }
        let resend = self.policy.resend_millis();
        let ends_at = UnixMillis(
            now.0
                .saturating_add(resend.saturating_mul(ACTIVE_LIFETIME_FACTOR)),
        );
        let active = self
            .active
            .values()
            .map(|a| Postable::new(a.clone(), ends_at));
        let resolved = self
            .resolves
            .values()
            .map(|r| Postable::new(r.alert.clone(), r.resolved_at));
        Some(Push {
            alerts: active.chain(resolved).collect(),
            generation: self.generation,
            resolves: self.resolves.keys().copied().collect(),
        })
    }

    /// When [`due`](Self::due) will next have something, if the set does not change:
    /// `None` when there is nothing to send at all, `now` when a push is due already.
    pub fn next_due(&self, now: UnixMillis) -> Option<UnixMillis> {
        if self.active.is_empty() && self.resolves.is_empty() {
            return None;
        }
        let changed = self.generation != self.delivered_generation;
        match self.stats.last_success {
            Some(last) if !changed && last.0 <= now.0 => Some(UnixMillis(
                last.0.saturating_add(self.policy.resend_millis()),
            )),
            _ => Some(now),
        }
    }

    /// Whether some resolve has not reached Alertmanager even once.
    pub fn has_undelivered_resolves(&self) -> bool {
        self.resolves.values().any(|r| r.deliveries == 0)
    }

    /// At least one Alertmanager accepted `push` at `now`.
    pub fn delivered(&mut self, push: &Push, now: UnixMillis) {
        self.stats.pushes_ok += 1;
        self.stats.last_success = Some(now);
        self.delivered_generation = self.delivered_generation.max(push.generation);
        for seq in &push.resolves {
            let Some(resolve) = self.resolves.get_mut(seq) else {
                continue; // fired again, or dropped by the bound, since the push was made
            };
            resolve.deliveries += 1;
            if resolve.deliveries >= self.policy.resolve_deliveries
                && let Some(done) = self.resolves.remove(seq)
            {
                self.resolve_index.remove(&done.alert.labels);
            }
        }
    }

    /// No Alertmanager accepted the push made at `now`; everything stays pending.
    pub fn failed(&mut self, now: UnixMillis) {
        self.stats.pushes_failed += 1;
        self.stats.last_failure = Some(now);
    }

    /// Current counters and gauges.
    pub fn stats(&self) -> AlertingStats {
        AlertingStats {
            active: self.active.len(),
            pending_resolves: self.resolves.len(),
            rejected: self.rejected.len(),
            ..self.stats.clone()
        }
    }
}
