//! The emulator's shared state: configuration that can change at run time,
//! the world of VMs and operations, the tenant (directory and subscriptions),
//! faults, throttling and the request log. Each part has its own lock; none is
//! held across an await.
//!
//! It only holds the lower layers' types together; the HTTP layer (`api`) reads
//! and changes it, and nothing here knows about requests.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::admin_messages::{LoggedRequest, LroStyle};
use crate::compute_reads::ComputeReads;
use crate::config::{DEFAULT_GITHUB_REQUEST_TOKEN, EmulatorConfig};
use crate::faults::FaultSet;
use crate::model::operations::{Operation, OperationKind};
use crate::model::scale_set::ScaleSet;
use crate::model::upgrade;
use crate::model::vm::{Vm, vm_key};
use crate::tenant::identity::Identity;
use crate::tenant::subscriptions::Subscriptions;
use crate::tenant::tokens::SigningKey;
use crate::throttle::Throttle;

/// Settings that `/_emulator/config` can change while running.
#[derive(Debug, Clone)]
pub(crate) struct Runtime {
    /// How long operations started from now on take.
    pub operation_delay: Duration,
    /// How operation responses tell clients to poll.
    pub lro_style: LroStyle,
    /// The `Retry-After` of operation responses and polls.
    pub poll_retry_after_secs: u64,
    /// The bearer token the GitHub Actions ID-token endpoint accepts.
    pub github_request_token: String,
}

/// VMs (keyed by lower-cased `subscription/resource_group/name`; a uniform scale set's
/// instances by their scale set's key and instance ID), scale sets and operations.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub vms: HashMap<String, Vm>,
    /// Keyed by `model::membership::scale_set_key`.
    pub scale_sets: HashMap<String, ScaleSet>,
    pub operations: HashMap<String, Operation>,
}

impl World {
    pub(crate) fn key(subscription: &str, resource_group: &str, name: &str) -> String {
        vm_key(subscription, resource_group, name)
    }

    /// Completes every operation that is due, oldest first.
    pub(crate) fn settle(&mut self, now: Instant) {
        let mut due: Vec<(Instant, String)> = self
            .operations
            .values()
            .filter(|op| op.is_running() && op.due <= now)
            .map(|op| (op.due, op.id.clone()))
            .collect();
        due.sort();
        for (_, id) in due {
            if let Some(op) = self.operations.get_mut(&id) {
                if matches!(op.kind, OperationKind::ScaleSet { .. }) {
                    let scale_set = self.scale_sets.get_mut(&op.vm_key);
                    upgrade::complete(op, scale_set, &mut self.vms);
                } else {
                    op.complete(self.vms.get_mut(&op.vm_key));
                }
            }
        }
    }

    pub(crate) fn running_operation(&self, vm_key: &str) -> Option<&Operation> {
        self.operations
            .values()
            .find(|op| op.is_running() && op.vm_key == vm_key)
    }

    pub(crate) fn resource_group_exists(&self, subscription: &str, resource_group: &str) -> bool {
        let prefix = format!("{subscription}/{resource_group}/").to_ascii_lowercase();
        self.vms.keys().any(|k| k.starts_with(&prefix))
            || self.scale_sets.keys().any(|k| k.starts_with(&prefix))
    }
}

pub(crate) struct AppState {
    /// `https://127.0.0.1:PORT`.
    pub endpoint: String,
    pub config: EmulatorConfig,
    pub runtime: Mutex<Runtime>,
    pub world: Mutex<World>,
    pub identity: Mutex<Identity>,
    pub subscriptions: Mutex<Subscriptions>,
    pub faults: Mutex<FaultSet>,
    pub throttle: Mutex<Throttle>,
    /// Compute's read budgets (VM lists, extension lists); see `compute_reads.rs`.
    pub compute_reads: Mutex<ComputeReads>,
    /// VMs per page of a VM list; changed through `/_emulator/listing`.
    pub list_page_size: std::sync::atomic::AtomicUsize,
    pub requests: Mutex<Vec<LoggedRequest>>,
}

/// Locks a mutex, recovering the data if a previous holder panicked.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AppState {
    pub(crate) fn new(
        config: EmulatorConfig,
        endpoint: String,
        signing_key: SigningKey,
    ) -> AppState {
        AppState {
            runtime: Mutex::new(Runtime {
                operation_delay: config.operation_delay,
                lro_style: config.lro_style,
                poll_retry_after_secs: config.poll_retry_after_secs,
                github_request_token: DEFAULT_GITHUB_REQUEST_TOKEN.into(),
            }),
            identity: Mutex::new(Identity::new(&config, &endpoint, signing_key)),
            subscriptions: Mutex::new(Subscriptions::new(&config)),
            world: Mutex::new(World::default()),
            faults: Mutex::new(FaultSet::default()),
            throttle: Mutex::new(Throttle::default()),
            compute_reads: Mutex::new(ComputeReads::default()),
            list_page_size: config.list_page_size.max(1).into(),
            requests: Mutex::new(Vec::new()),
            endpoint,
            config,
        }
    }

    /// The world with all due operations completed.
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        let mut world = lock(&self.world);
        world.settle(Instant::now());
        world
    }

    pub(crate) fn runtime(&self) -> Runtime {
        lock(&self.runtime).clone()
    }
}
