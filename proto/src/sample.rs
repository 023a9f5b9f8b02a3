//! A sample: one sampling cycle of one node, with a section per probe.
//!
//! Invariant: a section is never silently absent. Each is `Data`, `Unavailable` with a typed
//! reason, or `NotDue` for a rate-limited probe that did not run in this cycle. A consumer
//! that finds no data says "unknown, because …", never "healthy".

use crate::datastore::DatastoreHealth;
use crate::ident::{Seq, UnixMillis};
use crate::inventory::Inventory;
use crate::kubelet::KubeletHealth;
use crate::pressure::NodePressure;
use serde::{Deserialize, Serialize};

/// One sampling cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub seq: Seq,
    /// When the cycle started, by the node's clock.
    pub at: UnixMillis,
    pub pressure: Section<NodePressure>,
    pub kubelet: Section<KubeletHealth>,
    pub datastore: Section<DatastoreHealth>,
    /// Ships when it changed and at least every few hours; `NotDue` otherwise.
    pub inventory: Section<Inventory>,
}

/// What a probe produced in one cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Section<T> {
    Data(T),
    /// The probe could not see; the reason says why.
    Unavailable(Unavailable),
    /// A rate-limited probe that did not run this cycle. `last` is the sample that carries its
    /// latest data, if any is still known to the agent.
    NotDue {
        last: Option<Seq>,
    },
}

impl<T> Section<T> {
    pub fn data(&self) -> Option<&T> {
        match self {
            Section::Data(d) => Some(d),
            _ => None,
        }
    }

    pub fn unavailable(reason: UnavailableReason, detail: impl Into<String>) -> Self {
        Section::Unavailable(Unavailable {
            reason,
            detail: detail.into(),
        })
    }
}

/// Why a probe could not see, and the detail an operator needs to act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    pub reason: UnavailableReason,
    /// Human-readable detail: the path, endpoint or error text.
    pub detail: String,
}

/// Typed reasons for an unavailable section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnavailableReason {
    /// The probe is switched off in the agent's config, or is not part of this agent build
    /// (the detail says which).
    Disabled,
    /// Does not apply to this node (e.g. no local datastore on a K3s agent node).
    NotApplicable,
    /// A file, device or kernel interface the probe needs does not exist.
    NotFound,
    /// The agent lacks permission (file mode, missing RBAC, no credentials).
    PermissionDenied,
    /// The endpoint refused or dropped the connection.
    Unreachable,
    /// The endpoint did not answer in time.
    Timeout,
    /// The endpoint answered 401/403 (e.g. K3s's webhook authorization without an API server).
    Unauthorized,
    /// The source answered with something the probe cannot parse.
    Unparseable,
    /// Any other probe failure; the detail says what.
    Failed,
    /// The probe chose not to run (e.g. the disk audit on a nearly full disk); the detail
    /// says why.
    Skipped,
}
