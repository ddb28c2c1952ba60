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
//! With `include_scale_set_instances`, each scope's scale sets are listed too, after its VMs,
//! and each uniform scale set's instances (of the wanted OS, by the scale set's model) are
//! listed page by page and treated like VMs: one extension read each. A flexible scale set's
//! instances are ordinary VMs, already in the VM list, so its instances are not listed again.
//!
//! Results stream out in list order. Reads are started only while they can still matter: never
//! more reads in flight (list pages included) than results still wanted under `limit`, so a
//! listing that is satisfied early stops reading. Dropping the stream (or cancelling the stop
//! token) aborts the requests in flight and ends the work.
//!
//! Name filters are case-insensitive globs over the VM name (`*` any run of characters, `?` one
//! character), because ARM names are case-insensitive and globs are what people type for fleets
//! (`web-*`, `sql-0?`); several filters match a VM when any one does. A uniform scale set's
//! instance is matched by its ARM name, `{scale set}_{instance ID}`.

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
    ArmClient, AzureError, InstancePageAt, OpContext, Orchestration, OsType, ScaleSet, ScaleSetId,
    ScaleSetPage, VirtualMachine, VirtualMachineId, VmExtension, VmListScope, VmPage, VmPageAt,
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

    /// One page of scale sets.
    async fn scale_set_page(
        &self,
        at: VmPageAt<'_>,
        ctx: &OpContext,
    ) -> Result<ScaleSetPage, AzureError>;

    /// One page of a scale set's instances.
    async fn instance_page(
        &self,
        at: InstancePageAt<'_>,
        ctx: &OpContext,
    ) -> Result<VmPage, AzureError>;

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

    async fn scale_set_page(
        &self,
        at: VmPageAt<'_>,
        ctx: &OpContext,
    ) -> Result<ScaleSetPage, AzureError> {
        self.list_scale_sets_page(at, ctx).await
    }

    async fn instance_page(
        &self,
        at: InstancePageAt<'_>,
        ctx: &OpContext,
    ) -> Result<VmPage, AzureError> {
        self.list_scale_set_instances_page(at, ctx).await
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
    /// Also list the instances of the uniform scale sets of each scope (one list of scale sets
    /// per scope, then one paged list per uniform scale set).
    pub include_scale_set_instances: bool,
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
            include_scale_set_instances: false,
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
    /// The VM, or a uniform scale set's instance.
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
    /// Listing the VMs of a scope (or a uniform scale set's instances) failed.
    #[error("cannot list the virtual machines of {scope}: {source}")]
    List {
        /// The subscription, resource group or scale set.
        scope: String,
        /// Why.
        #[source]
        source: Box<AzureError>,
    },
    /// Listing the scale sets of a scope failed.
    #[error("cannot list the virtual machine scale sets of {scope}: {source}")]
    ScaleSets {
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
    /// A listed VM, instance or scale set whose ID is not one (ARM returned something
    /// unexpected).
    #[error("the list of {scope} returned an unusable resource ID {id:?}")]
    UnexpectedVmId {
        /// What was listed.
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
    include_scale_set_instances: bool,
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
            include_scale_set_instances: request.include_scale_set_instances,
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

    /// Whether a listed scale set's instances are worth listing: a uniform one (a flexible
    /// one's are in the VM list) whose model runs the wanted OS, or does not say.
    fn wants_instances_of(&self, scale_set: &ScaleSet) -> bool {
        scale_set.orchestration() == Orchestration::Uniform
            && match (scale_set.os_type(), self.os) {
                (Some(found), Some(wanted)) => found == wanted,
                _ => true,
            }
    }

    /// What to list, in order: each scope's VMs, then (when asked) its scale sets, whose
    /// uniform ones' instances are queued right behind them as they are found.
    fn listings(&self) -> VecDeque<Listing> {
        let mut listings = VecDeque::new();
        for scope in &self.scopes {
            listings.push_back(Listing::Vms(scope.clone()));
            if self.include_scale_set_instances {
                listings.push_back(Listing::ScaleSets(scope.clone()));
            }
        }
        listings
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
type PageRead = Result<Page, AzureError>;

/// What finished while the run waited.
enum Event {
    Extensions(ExtensionsRead),
    Page(PageRead),
}

/// One list to read, page by page.
#[derive(Debug, Clone)]
enum Listing {
    /// The VMs of a scope.
    Vms(VmListScope),
    /// The scale sets of a scope.
    ScaleSets(VmListScope),
    /// A uniform scale set's instances.
    Instances(ScaleSetId),
}

impl Listing {
    /// What is listed, for errors.
    fn scope(&self) -> String {
        match self {
            Listing::Vms(scope) => scope.to_string(),
            Listing::ScaleSets(scope) => format!("the scale sets of {scope}"),
            Listing::Instances(scale_set) => format!("scale set {scale_set}"),
        }
    }

    /// Why reading it failed.
    fn error(&self, source: AzureError) -> DiscoveryError {
        let source = Box::new(source);
        match self {
            Listing::ScaleSets(scope) => DiscoveryError::ScaleSets {
                scope: scope.to_string(),
                source,
            },
            Listing::Vms(_) | Listing::Instances(_) => DiscoveryError::List {
                scope: self.scope(),
                source,
            },
        }
    }

    /// Reads the page `next_link` names (the first when `None`).
    async fn read(
        &self,
        reader: &dyn FleetReader,
        next_link: Option<&str>,
        ctx: &OpContext,
    ) -> PageRead {
        match self {
            Listing::Vms(scope) => reader
                .vm_page(VmPageAt { scope, next_link }, ctx)
                .await
                .map(Page::Vms),
            Listing::ScaleSets(scope) => reader
                .scale_set_page(VmPageAt { scope, next_link }, ctx)
                .await
                .map(Page::ScaleSets),
            Listing::Instances(scale_set) => {
                let at = InstancePageAt {
                    scale_set,
                    orchestration: Orchestration::Uniform,
                    next_link,
                };
                reader.instance_page(at, ctx).await.map(Page::Vms)
            }
        }
    }
}

/// A page of a [`Listing`]: VMs and instances, or scale sets.
enum Page {
    Vms(VmPage),
    ScaleSets(ScaleSetPage),
}

/// Where the listing stands: the front listing is the one being read.
struct Cursor {
    listings: VecDeque<Listing>,
    next_link: Option<String>,
    /// Instance listings queued behind the front (a scale-set listing), so that later pages'
    /// scale sets queue after earlier ones'.
    queued_behind: usize,
}

impl Cursor {
    /// Follows `next_link`, or moves to the next listing when there is none.
    fn advance(&mut self, next_link: Option<String>) {
        if next_link.is_none() {
            self.listings.pop_front();
            self.queued_behind = 0;
        }
        self.next_link = next_link;
    }
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
        let cursor = Cursor {
            listings: plan.listings(),
            next_link: None,
            queued_behind: 0,
        };
        Run {
            reader,
            plan,
            ctx,
            tx,
            cursor,
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
            } else if let (None, Some(listing)) = (&self.page_read, self.cursor.listings.front()) {
                let reader = self.reader.clone();
                let ctx = self.ctx.clone();
                let listing = listing.clone();
                let link = self.cursor.next_link.clone();
                self.page_read = Some(Box::pin(async move {
                    listing.read(reader.as_ref(), link.as_deref(), &ctx).await
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
                Event::Page(result) => {
                    self.page_read = None;
                    self.on_page(result)
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

    /// Takes in a page of the front listing.
    fn on_page(&mut self, result: PageRead) -> Result<(), DiscoveryError> {
        let Some(listing) = self.cursor.listings.front().cloned() else {
            return Ok(());
        };
        let page = match (result, &listing) {
            (Ok(page), _) => page,
            // Deleted between the list of scale sets and this read: not part of the fleet.
            (Err(AzureError::NotFound { .. }), Listing::Instances(_)) => {
                self.cursor.advance(None);
                return Ok(());
            }
            (Err(source), _) => return Err(listing.error(source)),
        };
        let next_link = match page {
            Page::Vms(page) => {
                for vm in &page.vms {
                    if let Some(candidate) = self.candidate(&listing, vm)? {
                        self.candidates.push_back(candidate);
                    }
                }
                page.next_link
            }
            Page::ScaleSets(page) => {
                for scale_set in &page.scale_sets {
                    if !self.plan.wants_instances_of(scale_set) {
                        continue;
                    }
                    let id = ScaleSetId::parse(&scale_set.id).map_err(|_| {
                        DiscoveryError::UnexpectedVmId {
                            scope: listing.scope(),
                            id: scale_set.id.clone(),
                        }
                    })?;
                    let at = 1 + self.cursor.queued_behind;
                    self.cursor.listings.insert(at, Listing::Instances(id));
                    self.cursor.queued_behind += 1;
                }
                page.next_link
            }
        };
        self.cursor.advance(next_link);
        Ok(())
    }

    /// A listed VM or instance worth an extension read, if it is one.
    fn candidate(
        &self,
        listing: &Listing,
        vm: &VirtualMachine,
    ) -> Result<Option<(VirtualMachineId, Option<OsType>)>, DiscoveryError> {
        let unexpected = || DiscoveryError::UnexpectedVmId {
            scope: listing.scope(),
            id: vm.arm_id().to_owned(),
        };
        let id = VirtualMachineId::parse(vm.arm_id()).map_err(|_| unexpected())?;
        // An instance list returns instances, a VM list VMs; anything else is not what was
        // asked for (and would be listed twice).
        let name = match (listing, id.scale_set()) {
            (Listing::Instances(_), Some(scale_set)) => {
                format!("{}_{}", scale_set.name(), id.name())
            }
            (Listing::Vms(_), None) => id.name().to_owned(),
            _ => return Err(unexpected()),
        };
        let os = vm.os_type();
        Ok((self.plan.name_matches(&name) && self.plan.wants(os)).then_some((id, os)))
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
