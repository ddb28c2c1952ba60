//! Per-VM serialisation: a VM has one extension of each kind and Compute rejects concurrent
//! changes, so operations on one VM queue while different VMs run in parallel.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

use crate::azure::VirtualMachineId;

#[derive(Default)]
pub(crate) struct VmLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl VmLocks {
    /// Waits for the VM's turn; the guard releases it.
    pub(crate) async fn lock(&self, vm: &VirtualMachineId) -> OwnedMutexGuard<()> {
        let key = vm.to_string().to_ascii_lowercase();
        let lock = match self.locks.lock() {
            Ok(mut locks) => locks.entry(key).or_default().clone(),
            // The map holds no invariant a panic could break.
            Err(poisoned) => poisoned.into_inner().entry(key).or_default().clone(),
        };
        lock.lock_owned().await
    }
}
