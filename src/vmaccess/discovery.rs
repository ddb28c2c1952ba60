//! Fleet discovery: which VMs of a subscription have a VMAccess extension (or are VMs of the
//! wanted OS at all), read through ARM list operations.
//!
//! The VMs of each scope (the subscription, or each requested resource group) are listed page by
//! page; VMs of another OS than the one asked for and VMs outside the name filters are dropped
//! before anything else is read; then each remaining VM's extensions are listed, a bounded number
//! at a time, and the VMAccess extension of its OS (`Microsoft.Compute/VMAccessAgent` on Windows,
//! `Microsoft.OSTCExtensions/VMAccessForLinux` on Linux, under any name) is reported with its
//! provisioning state and, on Windows, the user it last reset.
//!
//! Results stream out in list order. Reads are started only while they can still matter: never
//! more reads in flight (list pages included) than results still wanted under `limit`, so a
//! listing that is satisfied early stops reading. Dropping the stream (or cancelling the stop
//! token) aborts the requests in flight and ends the work.
//!
//! Name filters are case-insensitive globs over the VM name (`*` any run of characters, `?` one
//! character), because ARM names are case-insensitive and globs are what people type for fleets
//! (`web-*`, `sql-0?`); several filters match a VM when any one does.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{FuturesOrdered, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};
use wildmatch::WildMatch;

use super::kind::{self, Kind};
use super::{ExtensionKind, WindowsVmAccess};
use crate::azure::{
    ArmClient, AzureError, OpContext, OsType, VirtualMachine, VirtualMachineId, VmExtension,
    VmListScope, VmPage, VmPageAt,
};

/// Extension reads in flight at once unless asked otherwise. Each VM is read once, so Compute's
/// per-VM budget is never the limit; ARM's subscription read bucket (250, refilled at 25/s) is.
pub(crate) const DEFAULT_CONCURRENCY: usize = 8;

/// How long a whole discovery may take unless asked otherwise.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The ARM reads discovery needs, so that its decisions can be tested against a fake.
#[async_trait::async_trait]
pub trait FleetReader: Send + Sync + 'static {
    /// One page of VMs.
    async fn vm_page(&self, at: VmPageAt<'_>, ctx: &OpContext) -> Result<VmPage, AzureError>;

    /// Every extension of the VM.
    async fn extensions(
        &self,
        vm: &VirtualMachineId,
        ctx: &OpContext,
    ) -> Result<Vec<VmExtension>, AzureError>;
}

#[async_trait::async_trait]
impl FleetReader for ArmClient {
    async fn vm_page(&self, at: VmPageAt<'_>, ctx: &OpContext) -> Result<VmPage, AzureError> {
        self.list_virtual_machines_page(at, ctx).await
    }

    async fn extensions(
        &self,
        vm: &VirtualMachineId,
        ctx: &OpContext,
    ) -> Result<Vec<VmExtension>, AzureError> {
        self.list_extensions(vm, ctx).await
    }
}

/// What to report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DiscoveryMode {
    /// VMs that have a VMAccess extension, under any name, in any state.
    #[default]
    WithVmAccess,
    /// Every VM (of the OS asked for), with its VMAccess extension when it has one.
    All,
}

/// Where to look and what to report.
#[derive(Debug, Clone)]
pub struct DiscoveryRequest {
    pub(crate) subscription_id: String,
    /// Empty: the whole subscription. Otherwise each group is listed on its own.
    pub resource_groups: Vec<String>,
    /// Case-insensitive globs over VM names; empty: every name.
    pub name_filters: Vec<String>,
    /// What to report.
    pub mode: DiscoveryMode,
    /// Only VMs running this OS; `None`: Windows and Linux.
    pub os: Option<OsType>,
    /// Stop after this many results.
    pub limit: Option<usize>,
    /// Most reads in flight at once (at least 1).
    pub concurrency: usize,
    pub(crate) timeout: Duration,
}

impl DiscoveryRequest {
    /// Every VM with a VMAccess extension in the subscription, with the defaults.
    pub fn new(subscription_id: impl Into<String>) -> DiscoveryRequest {
        DiscoveryRequest {
            subscription_id: subscription_id.into(),
            resource_groups: Vec::new(),
            name_filters: Vec::new(),
            mode: DiscoveryMode::default(),
            os: None,
            limit: None,
            concurrency: DEFAULT_CONCURRENCY,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// A VMAccess extension found on a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmAccessExtension {
    /// Its resource name (`VMAccessAgent`, `enablevmaccess`, …).
    pub(crate) name: String,
    /// `Succeeded`, `Failed`, `Updating`, … (ARM omits it only when it is `Succeeded`).
    pub provisioning_state: String,
    /// The user of its last run, from the public settings (`UserName`); `None` for a Remote
    /// Desktop–only run, when the settings do not say, and always on Linux (a protected setting).
    pub(crate) username: Option<String>,
    /// What an import needs besides: the handler version and minor-upgrade flag it runs with, and
    /// the `forceUpdateTag` of its last run.
    pub(crate) type_handler_version: String,
    pub(crate) auto_upgrade_minor_version: bool,
    pub(crate) force_update_tag: Option<String>,
}

impl From<&VmAccessExtension> for super::Status {
    /// A listed extension as [`Engine::status`](super::Engine::status) would read it.
    fn from(ext: &VmAccessExtension) -> super::Status {
        super::Status {
            username: ext.username.clone(),
            force_update_tag: ext.force_update_tag.clone(),
            provisioning_state: ext.provisioning_state.clone(),
            type_handler_version: ext.type_handler_version.clone(),
            auto_upgrade_minor_version: ext.auto_upgrade_minor_version,
            // A list carries no instance view, so no status message.
            message: None,
        }
    }
}

/// One VM found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredVm {
    /// The VM.
    pub id: VirtualMachineId,
    pub(crate) os: OsType,
    /// Its VMAccess extension, when it has one.
    pub vmaccess: Option<VmAccessExtension>,
}

/// Why discovery could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// A request that cannot be run.
    #[error("invalid {field} {value:?}: {reason}")]
    InvalidRequest {
        /// The field at fault.
        field: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Listing the VMs of a scope failed.
    #[error("cannot list the virtual machines of {scope}: {source}")]
    List {
        /// The subscription or resource group.
        scope: String,
        /// Why.
        #[source]
        source: Box<AzureError>,
    },
    /// Listing one VM's extensions failed.
    #[error("cannot list the extensions of virtual machine {vm}: {source}")]
    Extensions {
        /// The VM.
        vm: String,
        /// Why.
        #[source]
        source: Box<AzureError>,
    },
    /// A listed VM whose ID is not a VM ID (ARM returned something unexpected).
    #[error("the list of {scope} returned a VM with an unusable ID {id:?}")]
    UnexpectedVmId {
        /// The subscription or resource group listed.
        scope: String,
        /// The ID ARM returned.
        id: String,
    },
}

type Item = Result<DiscoveredVm, DiscoveryError>;

/// The results of [`discover`], in list order. An error is the last item. Dropping it stops the
/// work and aborts the requests in flight.
pub struct Discovery {
    results: mpsc::Receiver<Item>,
    _stop_on_drop: DropGuard,
}

impl Stream for Discovery {
    type Item = Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        self.results.poll_recv(cx)
    }
}

/// Starts discovery on the current Tokio runtime. `stop` (e.g. the provider's StopProvider
/// token) cancels it too. Fails at once, before any request, when the request is invalid.
pub fn discover(
    reader: Arc<dyn FleetReader>,
    request: DiscoveryRequest,
    stop: &CancellationToken,
) -> Result<Discovery, DiscoveryError> {
    let plan = Plan::validate(request)?;
    let cancel = stop.child_token();
    let ctx = OpContext::new(plan.timeout, cancel.clone());
    let (tx, results) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut run = Run::new(reader, plan, ctx, tx);
        run.drive().await;
    });
    Ok(Discovery {
        results,
        _stop_on_drop: cancel.drop_guard(),
    })
}

/// A validated request.
struct Plan {
    scopes: Vec<VmListScope>,
    filters: Vec<WildMatch>,
    mode: DiscoveryMode,
    os: Option<OsType>,
    limit: usize,
    concurrency: usize,
    timeout: Duration,
}

impl Plan {
    fn validate(request: DiscoveryRequest) -> Result<Plan, DiscoveryError> {
        let invalid = |field, value: &str, reason| DiscoveryError::InvalidRequest {
            field,
            value: value.to_owned(),
            reason,
        };
        let subscription = request.subscription_id.trim();
        if subscription.is_empty() || subscription.contains('/') {
            return Err(invalid(
                "subscription_id",
                subscription,
                "a subscription ID is a GUID such as 00000000-0000-0000-0000-000000000000",
            ));
        }
        let mut scopes = Vec::new();
        for rg in &request.resource_groups {
            let name = rg.trim();
            if name.is_empty() || name.contains('/') {
                return Err(invalid(
                    "resource group",
                    rg,
                    "give the resource group's name, without slashes",
                ));
            }
            let scope = VmListScope {
                subscription_id: subscription.to_owned(),
                resource_group: Some(name.to_owned()),
            };
            let duplicate = scopes.iter().any(|s: &VmListScope| {
                s.resource_group
                    .as_deref()
                    .is_some_and(|r| r.eq_ignore_ascii_case(name))
            });
            if !duplicate {
                scopes.push(scope);
            }
        }
        if scopes.is_empty() {
            scopes.push(VmListScope {
                subscription_id: subscription.to_owned(),
                resource_group: None,
            });
        }
        let mut filters = Vec::new();
        for pattern in &request.name_filters {
            if pattern.trim().is_empty() {
                return Err(invalid(
                    "name filter",
                    pattern,
                    "a name filter cannot be empty; use \"*\" to match every name",
                ));
            }
            filters.push(WildMatch::new_case_insensitive(pattern.trim()));
        }
        if request.limit == Some(0) {
            return Err(invalid("limit", "0", "the limit must be at least 1"));
        }
        Ok(Plan {
            scopes,
            filters,
            mode: request.mode,
            os: request.os,
            limit: request.limit.unwrap_or(usize::MAX),
            concurrency: request.concurrency.max(1),
            timeout: request.timeout,
        })
    }

    fn name_matches(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| f.matches(name))
    }

    /// Whether a listed VM deserves an extension read: of the OS asked for, and of a known OS
    /// when every VM is wanted (a VMAccess extension tells the OS when Azure does not).
    fn wants(&self, os: Option<OsType>) -> bool {
        match (os, self.os) {
            (Some(found), Some(wanted)) => found == wanted,
            (Some(_), None) => true,
            (None, _) => self.mode == DiscoveryMode::WithVmAccess,
        }
    }

    /// The VMAccess extension among a VM's: the one of its OS, or when the OS is not known, any
    /// kind (which then tells the OS).
    fn vmaccess(
        os: Option<OsType>,
        extensions: &[VmExtension],
    ) -> Option<(&'static Kind, &VmExtension)> {
        kind::ALL
            .into_iter()
            .filter(|k| os.is_none_or(|os| k.os == os))
            .find_map(|k| Some((k, extensions.iter().find(|e| k.matches(e))?)))
    }
}

type Read<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type ExtensionsRead = (
    VirtualMachineId,
    Option<OsType>,
    Result<Vec<VmExtension>, AzureError>,
);
type PageRead = (usize, Result<VmPage, AzureError>);

/// What finished while the run waited.
enum Event {
    Extensions(ExtensionsRead),
    Page(PageRead),
}

/// Where the listing of the scopes stands.
struct Cursor {
    scope: usize,
    next_link: Option<String>,
}

struct Run {
    reader: Arc<dyn FleetReader>,
    plan: Plan,
    ctx: OpContext,
    tx: mpsc::Sender<Item>,
    cursor: Cursor,
    candidates: VecDeque<(VirtualMachineId, Option<OsType>)>,
    extension_reads: FuturesOrdered<Read<ExtensionsRead>>,
    page_read: Option<Read<PageRead>>,
    wanted: usize,
}

impl Run {
    fn new(
        reader: Arc<dyn FleetReader>,
        plan: Plan,
        ctx: OpContext,
        tx: mpsc::Sender<Item>,
    ) -> Run {
        let wanted = plan.limit;
        Run {
            reader,
            plan,
            ctx,
            tx,
            cursor: Cursor {
                scope: 0,
                next_link: None,
            },
            candidates: VecDeque::new(),
            extension_reads: FuturesOrdered::new(),
            page_read: None,
            wanted,
        }
    }

    fn in_flight(&self) -> usize {
        self.extension_reads.len() + usize::from(self.page_read.is_some())
    }

    /// Starts reads while they may still be needed: candidates first (list order), then the
    /// next page.
    fn start_reads(&mut self) {
        while self.in_flight() < self.plan.concurrency.min(self.wanted) {
            if let Some((id, os)) = self.candidates.pop_front() {
                let reader = self.reader.clone();
                let ctx = self.ctx.clone();
                self.extension_reads.push_back(Box::pin(async move {
                    let result = reader.extensions(&id, &ctx).await;
                    (id, os, result)
                }));
            } else if self.page_read.is_none() && self.cursor.scope < self.plan.scopes.len() {
                let reader = self.reader.clone();
                let ctx = self.ctx.clone();
                let index = self.cursor.scope;
                let scope = self.plan.scopes[index].clone();
                let link = self.cursor.next_link.clone();
                self.page_read = Some(Box::pin(async move {
                    let at = VmPageAt {
                        scope: &scope,
                        next_link: link.as_deref(),
                    };
                    let result = reader.vm_page(at, &ctx).await;
                    (index, result)
                }));
            } else {
                break;
            }
        }
    }

    async fn drive(&mut self) {
        loop {
            if self.wanted == 0 {
                return;
            }
            self.start_reads();
            if self.in_flight() == 0 {
                return;
            }
            let cancel = self.ctx.cancel_token().clone();
            let event = tokio::select! {
                _ = cancel.cancelled() => return,
                Some(read) = self.extension_reads.next(), if !self.extension_reads.is_empty() => {
                    Event::Extensions(read)
                }
                page = async {
                    match self.page_read.as_mut() {
                        Some(read) => read.await,
                        None => std::future::pending().await,
                    }
                }, if self.page_read.is_some() => Event::Page(page),
            };
            let step = match event {
                Event::Extensions((id, os, result)) => self.on_extensions(id, os, result).await,
                Event::Page((index, result)) => {
                    self.page_read = None;
                    self.on_page(index, result)
                }
            };
            if let Err(error) = step {
                // A cancelled run has nobody left to tell.
                if !self.ctx.cancel_token().is_cancelled() {
                    let _ = self.tx.send(Err(error)).await;
                }
                return;
            }
            if self.tx.is_closed() {
                return;
            }
        }
    }

    fn on_page(
        &mut self,
        index: usize,
        result: Result<VmPage, AzureError>,
    ) -> Result<(), DiscoveryError> {
        let scope = &self.plan.scopes[index];
        let page = result.map_err(|source| DiscoveryError::List {
            scope: scope.to_string(),
            source: Box::new(source),
        })?;
        for vm in &page.vms {
            if let Some(candidate) = self.candidate(scope, vm)? {
                self.candidates.push_back(candidate);
            }
        }
        match page.next_link {
            Some(link) => self.cursor.next_link = Some(link),
            None => {
                self.cursor.scope += 1;
                self.cursor.next_link = None;
            }
        }
        Ok(())
    }

    fn candidate(
        &self,
        scope: &VmListScope,
        vm: &VirtualMachine,
    ) -> Result<Option<(VirtualMachineId, Option<OsType>)>, DiscoveryError> {
        let id = VirtualMachineId::parse(&vm.id).map_err(|_| DiscoveryError::UnexpectedVmId {
            scope: scope.to_string(),
            id: vm.id.clone(),
        })?;
        let os = vm.os_type();
        Ok((self.plan.name_matches(id.name()) && self.plan.wants(os)).then_some((id, os)))
    }

    async fn on_extensions(
        &mut self,
        id: VirtualMachineId,
        os: Option<OsType>,
        result: Result<Vec<VmExtension>, AzureError>,
    ) -> Result<(), DiscoveryError> {
        let extensions = match result {
            Ok(extensions) => extensions,
            // Deleted between the list and this read: not part of the fleet any more.
            Err(AzureError::NotFound { .. }) => return Ok(()),
            Err(source) => {
                return Err(DiscoveryError::Extensions {
                    vm: id.to_string(),
                    source: Box::new(source),
                });
            }
        };
        let found = Plan::vmaccess(os, &extensions);
        let os = match (os, found) {
            (Some(os), _) => os,
            (None, Some((kind, _))) => kind.os,
            (None, None) => return Ok(()),
        };
        if self.plan.os.is_some_and(|wanted| wanted != os)
            || (self.plan.mode == DiscoveryMode::WithVmAccess && found.is_none())
        {
            return Ok(());
        }
        let vmaccess = found.map(|(kind, e)| VmAccessExtension {
            name: e.name.clone(),
            provisioning_state: e.provisioning_state.clone(),
            username: match kind.os {
                OsType::Windows => WindowsVmAccess::username(&e.settings),
                OsType::Linux => None,
            },
            type_handler_version: e.type_handler_version.clone(),
            auto_upgrade_minor_version: e.auto_upgrade_minor_version,
            force_update_tag: e.force_update_tag.clone(),
        });
        let found = DiscoveredVm { id, os, vmaccess };
        if self.tx.send(Ok(found)).await.is_ok() {
            self.wanted -= 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
