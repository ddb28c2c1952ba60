//! Discovery's decisions against a fake fleet: what is read, what is reported, when it stops.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use super::*;

const SUB: &str = "00000000-0000-0000-0000-0000000000cc";

#[derive(Clone)]
struct FakeVm {
    rg: &'static str,
    /// The uniform scale set of an instance (whose `name` is then its instance ID).
    scale_set: Option<&'static str>,
    name: String,
    os: &'static str,
    /// (name, publisher, type, provisioning state, settings)
    extensions: Vec<(String, &'static str, &'static str, &'static str, Value)>,
}

fn vm(rg: &'static str, name: &str, os: &'static str) -> FakeVm {
    FakeVm {
        rg,
        scale_set: None,
        name: name.into(),
        os,
        extensions: Vec::new(),
    }
}

/// Instance `instance_id` of the uniform scale set `scale_set`.
fn instance(
    rg: &'static str,
    scale_set: &'static str,
    instance_id: u32,
    os: &'static str,
) -> FakeVm {
    FakeVm {
        scale_set: Some(scale_set),
        ..vm(rg, &instance_id.to_string(), os)
    }
}

/// A scale set as its list shows it: orchestration mode and the model's OS.
#[derive(Clone)]
struct FakeScaleSet {
    rg: &'static str,
    name: &'static str,
    mode: &'static str,
    os: &'static str,
}

impl FakeScaleSet {
    fn id(&self) -> ScaleSetId {
        ScaleSetId::new(SUB, self.rg, self.name)
    }
}

impl FakeVm {
    fn vmaccess(mut self, name: &str, state: &'static str, settings: Value) -> FakeVm {
        self.extensions.push((
            name.into(),
            "Microsoft.Compute",
            "VMAccessAgent",
            state,
            settings,
        ));
        self
    }

    fn linux_vmaccess(mut self, name: &str) -> FakeVm {
        self.extensions.push((
            name.into(),
            "Microsoft.OSTCExtensions",
            "VMAccessForLinux",
            "Succeeded",
            json!({}),
        ));
        self
    }

    fn other(mut self) -> FakeVm {
        self.extensions.push((
            "MicrosoftMonitoringAgent".into(),
            "Microsoft.EnterpriseCloud.Monitoring",
            "MicrosoftMonitoringAgent",
            "Succeeded",
            json!({"workspaceId": "w"}),
        ));
        self
    }

    fn id(&self) -> VirtualMachineId {
        match self.scale_set {
            Some(scale_set) => ScaleSetId::new(SUB, self.rg, scale_set).instance(self.name.clone()),
            None => VirtualMachineId::new(SUB, self.rg, self.name.clone()),
        }
    }

    fn listed(&self) -> VirtualMachine {
        serde_json::from_value(json!({
            "id": self.id().to_string(),
            "name": self.name,
            "properties": {"storageProfile": {"osDisk": {"osType": self.os}}},
        }))
        .expect("VM JSON")
    }
}

/// A fleet served in pages of `page_size`, counting every read.
struct FakeFleet {
    /// VMs and uniform instances.
    vms: Vec<FakeVm>,
    scale_sets: Vec<FakeScaleSet>,
    page_size: usize,
    read_delay: Duration,
    page_reads: AtomicUsize,
    extension_reads: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    cancelled_reads: AtomicUsize,
    /// Extension reads of these VMs never finish (until cancelled).
    hang: Vec<String>,
    failures: HashMap<String, fn() -> AzureError>,
    page_failure: Option<fn() -> AzureError>,
    scopes_listed: Mutex<Vec<VmListScope>>,
    scale_set_page_reads: AtomicUsize,
    scale_set_failure: Option<fn() -> AzureError>,
    /// The scale sets whose instances were listed, a page each.
    instance_pages: Mutex<Vec<String>>,
    /// Scale sets whose instance list answers 404 (deleted after the scale-set list).
    deleted_scale_sets: Vec<&'static str>,
}

impl FakeFleet {
    fn new(vms: Vec<FakeVm>) -> FakeFleet {
        FakeFleet {
            vms,
            scale_sets: Vec::new(),
            page_size: 2,
            read_delay: Duration::ZERO,
            page_reads: AtomicUsize::new(0),
            extension_reads: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            cancelled_reads: AtomicUsize::new(0),
            hang: Vec::new(),
            failures: HashMap::new(),
            page_failure: None,
            scopes_listed: Mutex::new(Vec::new()),
            scale_set_page_reads: AtomicUsize::new(0),
            scale_set_failure: None,
            instance_pages: Mutex::new(Vec::new()),
            deleted_scale_sets: Vec::new(),
        }
    }

    fn with_scale_sets(mut self, scale_sets: Vec<FakeScaleSet>) -> FakeFleet {
        self.scale_sets = scale_sets;
        self
    }

    /// The VMs of a scope: as in ARM, a uniform scale set's instances are not among them.
    fn in_scope(&self, scope: &VmListScope) -> Vec<&FakeVm> {
        self.vms
            .iter()
            .filter(|v| v.scale_set.is_none() && in_group(scope, v.rg))
            .collect()
    }

    /// Items `start..` of `all`, a page's worth, and the link to the next page.
    fn page_of<T: Clone>(&self, all: &[T], next_link: Option<&str>) -> (Vec<T>, Option<String>) {
        let start: usize = next_link.map_or(0, |l| l.parse().expect("our own link"));
        let end = start + self.page_size;
        let page = all
            .iter()
            .skip(start)
            .take(self.page_size)
            .cloned()
            .collect();
        (page, (end < all.len()).then(|| end.to_string()))
    }

    /// Waits like a request would; a read that is dropped or cancelled before it finishes counts
    /// as cancelled.
    async fn enter(&self, ctx: &OpContext, hang: bool) -> Result<(), AzureError> {
        let mut guard = InFlight {
            fleet: self,
            finished: false,
        };
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let waited = if hang {
            ctx.run("hanging", std::future::pending::<Result<(), AzureError>>())
                .await
        } else {
            ctx.sleep(self.read_delay, "reading").await
        };
        guard.finished = waited.is_ok();
        waited
    }
}

struct InFlight<'a> {
    fleet: &'a FakeFleet,
    finished: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.fleet.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !self.finished {
            self.fleet.cancelled_reads.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[async_trait::async_trait]
impl FleetReader for FakeFleet {
    async fn vm_page(&self, at: VmPageAt<'_>, ctx: &OpContext) -> Result<VmPage, AzureError> {
        let VmPageAt { scope, next_link } = at;
        self.page_reads.fetch_add(1, Ordering::SeqCst);
        self.scopes_listed.lock().expect("lock").push(scope.clone());
        self.enter(ctx, false).await?;
        if let Some(fail) = self.page_failure {
            return Err(fail());
        }
        let all: Vec<VirtualMachine> = self.in_scope(scope).iter().map(|v| v.listed()).collect();
        let (vms, next_link) = self.page_of(&all, next_link);
        Ok(VmPage { vms, next_link })
    }

    async fn scale_set_page(
        &self,
        at: VmPageAt<'_>,
        ctx: &OpContext,
    ) -> Result<ScaleSetPage, AzureError> {
        let VmPageAt { scope, next_link } = at;
        self.scale_set_page_reads.fetch_add(1, Ordering::SeqCst);
        self.enter(ctx, false).await?;
        if let Some(fail) = self.scale_set_failure {
            return Err(fail());
        }
        let all: Vec<ScaleSet> = self
            .scale_sets
            .iter()
            .filter(|s| in_group(scope, s.rg))
            .map(|s| {
                serde_json::from_value(json!({
                    "id": s.id().to_string(),
                    "name": s.name,
                    "properties": {
                        "orchestrationMode": s.mode,
                        "virtualMachineProfile": {"storageProfile": {"osDisk": {"osType": s.os}}},
                    },
                }))
                .expect("scale set JSON")
            })
            .collect();
        let (scale_sets, next_link) = self.page_of(&all, next_link);
        Ok(ScaleSetPage {
            scale_sets,
            next_link,
        })
    }

    async fn instance_page(
        &self,
        at: InstancePageAt<'_>,
        ctx: &OpContext,
    ) -> Result<VmPage, AzureError> {
        let name = at.scale_set.name();
        self.instance_pages
            .lock()
            .expect("lock")
            .push(name.to_owned());
        self.enter(ctx, false).await?;
        let fake = self
            .scale_sets
            .iter()
            .find(|s| s.name == name)
            .expect("a listed scale set");
        assert_eq!(fake.mode, "Uniform", "only uniform instances are listed");
        assert_eq!(at.orchestration, Orchestration::Uniform);
        if self.deleted_scale_sets.contains(&name) {
            return Err(AzureError::NotFound {
                resource: "scale set".into(),
                code: "ResourceNotFound".into(),
                message: "gone".into(),
            });
        }
        let all: Vec<VirtualMachine> = self
            .vms
            .iter()
            .filter(|v| v.rg == fake.rg && v.scale_set == Some(name))
            .map(FakeVm::listed)
            .collect();
        let (vms, next_link) = self.page_of(&all, at.next_link);
        Ok(VmPage { vms, next_link })
    }

    async fn extensions(
        &self,
        vm: &VirtualMachineId,
        ctx: &OpContext,
    ) -> Result<Vec<VmExtension>, AzureError> {
        self.extension_reads.fetch_add(1, Ordering::SeqCst);
        self.enter(ctx, self.hang.iter().any(|h| h == vm.name()))
            .await?;
        if let Some(fail) = self.failures.get(vm.name()) {
            return Err(fail());
        }
        let fake = self.vms.iter().find(|v| v.id() == *vm).expect("listed VM");
        Ok(fake
            .extensions
            .iter()
            .map(|(name, publisher, kind, state, settings)| VmExtension {
                id: format!("{vm}/extensions/{name}"),
                name: name.clone(),
                publisher: (*publisher).into(),
                extension_type: (*kind).into(),
                provisioning_state: (*state).into(),
                settings: settings.clone(),
                ..VmExtension::default()
            })
            .collect())
    }
}

fn in_group(scope: &VmListScope, rg: &str) -> bool {
    scope
        .resource_group
        .as_deref()
        .is_none_or(|wanted| wanted.eq_ignore_ascii_case(rg))
}

async fn run(fleet: &Arc<FakeFleet>, request: DiscoveryRequest) -> Vec<Item> {
    let reader: Arc<dyn FleetReader> = fleet.clone();
    discover(reader, request, &CancellationToken::new())
        .expect("valid request")
        .collect()
        .await
}

fn names(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| i.as_ref().expect("no error").id.name().to_owned())
        .collect()
}

fn mixed_fleet() -> Vec<FakeVm> {
    vec![
        vm("rg-a", "web-01", "Windows").vmaccess(
            "VMAccessAgent",
            "Succeeded",
            json!({"UserName": "opsadmin"}),
        ),
        vm("rg-a", "web-02", "Windows").vmaccess("enablevmaccess", "Failed", json!({})),
        vm("rg-a", "web-03", "Windows").other(),
        vm("rg-a", "lin-01", "Linux").vmaccess("VMAccessAgent", "Succeeded", json!({})),
        vm("rg-b", "SQL-01", "Windows").other().vmaccess(
            "enablevmaccess",
            "Succeeded",
            json!({"username": "dba"}),
        ),
        vm("rg-b", "sql-02", "Windows"),
    ]
}

#[tokio::test]
async fn finds_vmaccess_under_any_name_and_skips_other_kinds_and_the_wrong_os_kind() {
    let fleet = Arc::new(FakeFleet::new(mixed_fleet()));
    let items = run(&fleet, DiscoveryRequest::new(SUB)).await;
    assert_eq!(names(&items), ["web-01", "web-02", "SQL-01"]);
    let found: Vec<&DiscoveredVm> = items.iter().map(|i| i.as_ref().expect("ok")).collect();
    assert_eq!(
        found[0].vmaccess,
        Some(VmAccessExtension {
            name: "VMAccessAgent".into(),
            provisioning_state: "Succeeded".into(),
            username: Some("opsadmin".into()),
            type_handler_version: String::new(),
            auto_upgrade_minor_version: false,
            force_update_tag: None,
        })
    );
    let failed = found[1].vmaccess.as_ref().expect("extension");
    assert_eq!(
        (failed.name.as_str(), failed.provisioning_state.as_str()),
        ("enablevmaccess", "Failed")
    );
    assert_eq!(
        failed.username, None,
        "a Remote Desktop-only run names no user"
    );
    assert_eq!(
        found[2]
            .vmaccess
            .as_ref()
            .and_then(|v| v.username.as_deref()),
        Some("dba")
    );
    assert_eq!(found[2].id.resource_group(), "rg-b");
    assert!(found.iter().all(|f| f.os == OsType::Windows));
    assert_eq!(
        fleet.extension_reads.load(Ordering::SeqCst),
        6,
        "every VM is read; the Linux VM's VMAccessAgent is not its OS's kind, so it is not listed"
    );
    assert_eq!(
        fleet.page_reads.load(Ordering::SeqCst),
        3,
        "6 VMs, 2 a page"
    );
}

#[tokio::test]
async fn all_windows_mode_reports_every_windows_vm() {
    let fleet = Arc::new(FakeFleet::new(mixed_fleet()));
    let mut request = DiscoveryRequest::new(SUB);
    request.mode = DiscoveryMode::All;
    request.os = Some(OsType::Windows);
    let items = run(&fleet, request).await;
    assert_eq!(
        names(&items),
        ["web-01", "web-02", "web-03", "SQL-01", "sql-02"]
    );
    let plain = items[4].as_ref().expect("ok");
    assert_eq!(plain.vmaccess, None);
}

#[tokio::test]
async fn linux_vms_are_listed_with_their_vmaccess_for_linux_and_an_os_filter_skips_reads() {
    let fleet_vms = || {
        let mut vms = mixed_fleet();
        vms.push(vm("rg-c", "app-01", "Linux").linux_vmaccess("enablevmaccess"));
        vms.push(vm("rg-c", "app-02", "Linux"));
        vms
    };
    let fleet = Arc::new(FakeFleet::new(fleet_vms()));
    let mut request = DiscoveryRequest::new(SUB);
    request.os = Some(OsType::Linux);
    let items = run(&fleet, request).await;
    assert_eq!(names(&items), ["app-01"]);
    let app = items[0].as_ref().expect("ok");
    assert_eq!(app.os, OsType::Linux);
    let ext = app.vmaccess.as_ref().expect("its VMAccessForLinux");
    assert_eq!(
        (ext.name.as_str(), ext.username.as_deref()),
        ("enablevmaccess", None)
    );
    assert_eq!(
        fleet.extension_reads.load(Ordering::SeqCst),
        3,
        "only the Linux VMs are read"
    );

    let fleet = Arc::new(FakeFleet::new(fleet_vms()));
    let mut request = DiscoveryRequest::new(SUB);
    request.mode = DiscoveryMode::All;
    let items = run(&fleet, request).await;
    let listed: Vec<(String, OsType)> = items
        .iter()
        .map(|i| i.as_ref().expect("ok"))
        .map(|vm| (vm.id.name().to_owned(), vm.os))
        .collect();
    assert_eq!(listed.len(), 8, "both OSes by default: {listed:?}");
    assert!(listed.contains(&("app-02".to_owned(), OsType::Linux)));
}

#[tokio::test]
async fn resource_groups_and_name_globs_narrow_the_search() {
    let fleet = Arc::new(FakeFleet::new(mixed_fleet()));
    let mut request = DiscoveryRequest::new(SUB);
    request.mode = DiscoveryMode::All;
    request.os = Some(OsType::Windows);
    request.resource_groups = vec!["RG-B".into(), "rg-b".into()];
    request.name_filters = vec!["sql-0?".into()];
    let items = run(&fleet, request).await;
    assert_eq!(names(&items), ["SQL-01", "sql-02"], "globs ignore case");
    let listed = fleet.scopes_listed.lock().expect("lock").clone();
    assert!(
        listed
            .iter()
            .all(|s| s.resource_group.as_deref() == Some("RG-B")),
        "only the named group is listed, once: {listed:?}"
    );

    let fleet = Arc::new(FakeFleet::new(mixed_fleet()));
    let mut request = DiscoveryRequest::new(SUB);
    request.name_filters = vec!["nomatch*".into(), "WEB-*".into()];
    let items = run(&fleet, request).await;
    assert_eq!(names(&items), ["web-01", "web-02"]);
    assert_eq!(
        fleet.extension_reads.load(Ordering::SeqCst),
        3,
        "VMs outside the filters are never read"
    );
}

fn big_fleet(count: usize) -> Vec<FakeVm> {
    (0..count)
        .map(|i| {
            vm("rg-a", &format!("vm-{i:03}"), "Windows").vmaccess(
                "VMAccessAgent",
                "Succeeded",
                json!({}),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_limit_reads_no_more_than_it_needs() {
    let fleet = Arc::new(FakeFleet {
        page_size: 5,
        ..FakeFleet::new(big_fleet(20))
    });
    let mut request = DiscoveryRequest::new(SUB);
    request.limit = Some(3);
    request.concurrency = 8;
    let items = run(&fleet, request).await;
    assert_eq!(names(&items), ["vm-000", "vm-001", "vm-002"]);
    assert_eq!(fleet.page_reads.load(Ordering::SeqCst), 1);
    assert_eq!(fleet.extension_reads.load(Ordering::SeqCst), 3);

    // A limit beyond the first page reads the next page only once the first is used up.
    let fleet = Arc::new(FakeFleet {
        page_size: 5,
        ..FakeFleet::new(big_fleet(20))
    });
    let mut request = DiscoveryRequest::new(SUB);
    request.limit = Some(7);
    let items = run(&fleet, request).await;
    assert_eq!(items.len(), 7);
    assert_eq!(fleet.page_reads.load(Ordering::SeqCst), 2);
    assert_eq!(fleet.extension_reads.load(Ordering::SeqCst), 7);
}

#[tokio::test]
async fn reads_in_flight_stay_within_the_concurrency() {
    let fleet = Arc::new(FakeFleet {
        page_size: 10,
        read_delay: Duration::from_millis(10),
        ..FakeFleet::new(big_fleet(40))
    });
    let mut request = DiscoveryRequest::new(SUB);
    request.concurrency = 4;
    let items = run(&fleet, request).await;
    assert_eq!(items.len(), 40);
    assert_eq!(fleet.max_in_flight.load(Ordering::SeqCst), 4);
    let listed: Vec<String> = names(&items);
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "results keep the list order");
}

#[tokio::test]
async fn dropping_the_stream_stops_the_work() {
    let mut vms = big_fleet(10);
    vms[0].name = "vm-000".into();
    let fleet = Arc::new(FakeFleet {
        page_size: 10,
        hang: (1..10).map(|i| format!("vm-{i:03}")).collect(),
        ..FakeFleet::new(vms)
    });
    let reader: Arc<dyn FleetReader> = fleet.clone();
    let mut request = DiscoveryRequest::new(SUB);
    request.concurrency = 4;
    let mut stream = discover(reader, request, &CancellationToken::new()).expect("valid");
    let first = stream.next().await.expect("one result").expect("ok");
    assert_eq!(first.id.name(), "vm-000");
    drop(stream);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while fleet.in_flight.load(Ordering::SeqCst) > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "reads still running"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(fleet.cancelled_reads.load(Ordering::SeqCst) >= 3);
    let started = fleet.extension_reads.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        fleet.extension_reads.load(Ordering::SeqCst),
        started,
        "no read starts after the stream is dropped"
    );
    assert!(started <= 5, "at most the concurrency ahead: {started}");
}

#[tokio::test]
async fn the_stop_token_cancels_discovery() {
    let fleet = Arc::new(FakeFleet {
        hang: vec!["vm-000".into()],
        ..FakeFleet::new(big_fleet(3))
    });
    let reader: Arc<dyn FleetReader> = fleet.clone();
    let stop = CancellationToken::new();
    let mut stream = discover(reader, DiscoveryRequest::new(SUB), &stop).expect("valid");
    tokio::time::sleep(Duration::from_millis(20)).await;
    stop.cancel();
    let next = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("ends promptly");
    assert!(next.is_none(), "a stopped discovery just ends: {next:?}");
}

#[tokio::test]
async fn a_failed_list_is_an_error_not_an_empty_result() {
    let fleet = Arc::new(FakeFleet {
        page_failure: Some(|| {
            AzureError::Api {
            status: 403,
            code: "AuthorizationFailed".into(),
            message: "The client does not have authorization to perform action 'Microsoft.Compute/virtualMachines/read'".into(),
            inner_code: None,
            target: None,
        }
        }),
        ..FakeFleet::new(mixed_fleet())
    });
    let items = run(&fleet, DiscoveryRequest::new(SUB)).await;
    assert_eq!(items.len(), 1);
    let error = items[0].as_ref().expect_err("an error").to_string();
    assert!(
        error.contains(&format!("subscription {SUB}")) && error.contains("AuthorizationFailed"),
        "{error}"
    );
}

#[tokio::test]
async fn a_vm_deleted_mid_listing_is_skipped_but_other_read_errors_stop() {
    let mut fleet = FakeFleet::new(mixed_fleet());
    fleet
        .failures
        .insert("web-01".into(), || AzureError::NotFound {
            resource: "vm".into(),
            code: "ResourceNotFound".into(),
            message: "gone".into(),
        });
    let fleet = Arc::new(fleet);
    let items = run(&fleet, DiscoveryRequest::new(SUB)).await;
    assert_eq!(names(&items), ["web-02", "SQL-01"]);

    let mut fleet = FakeFleet::new(mixed_fleet());
    fleet
        .failures
        .insert("web-02".into(), || AzureError::Throttled {
            retry_after: Duration::from_secs(1200),
            message: "too many requests".into(),
        });
    let fleet = Arc::new(fleet);
    let items = run(&fleet, DiscoveryRequest::new(SUB)).await;
    assert_eq!(items.len(), 2, "the first result, then the error");
    let error = items[1].as_ref().expect_err("error").to_string();
    assert!(
        error.contains("web-02") && error.contains("1200s"),
        "{error}"
    );
}

#[tokio::test]
async fn invalid_requests_fail_before_any_read() {
    let fleet = Arc::new(FakeFleet::new(mixed_fleet()));
    let cases: Vec<(DiscoveryRequest, &str)> = vec![
        (DiscoveryRequest::new(" "), "subscription_id"),
        (
            DiscoveryRequest {
                name_filters: vec!["".into()],
                ..DiscoveryRequest::new(SUB)
            },
            "name filter",
        ),
        (
            DiscoveryRequest {
                resource_groups: vec!["rg/x".into()],
                ..DiscoveryRequest::new(SUB)
            },
            "resource group",
        ),
        (
            DiscoveryRequest {
                limit: Some(0),
                ..DiscoveryRequest::new(SUB)
            },
            "limit",
        ),
    ];
    for (request, field) in cases {
        let reader: Arc<dyn FleetReader> = fleet.clone();
        let Err(error) = discover(reader, request, &CancellationToken::new()) else {
            panic!("{field} accepted");
        };
        assert!(error.to_string().contains(field), "{error}");
    }
    assert_eq!(fleet.page_reads.load(Ordering::SeqCst), 0);
}

/// [`mixed_fleet`] plus, in rg-a, a uniform Windows scale set whose instance 1 has a VMAccess
/// extension and a flexible one whose VMs (ordinary VMs of the list) have one each, and in rg-b
/// a uniform Linux scale set with VMAccessForLinux on instance 0.
fn fleet_with_scale_sets() -> FakeFleet {
    let mut vms = mixed_fleet();
    vms.extend([
        instance("rg-a", "ss-win", 0, "Windows").other(),
        instance("rg-a", "ss-win", 1, "Windows").vmaccess(
            "enablevmaccess",
            "Succeeded",
            json!({"UserName": "ops"}),
        ),
        instance("rg-a", "ss-win", 2, "Windows"),
        vm("rg-a", "ss-flex_0a1b2c3d", "Windows").vmaccess("VMAccessAgent", "Succeeded", json!({})),
        vm("rg-a", "ss-flex_4e5f6a7b", "Windows").vmaccess("VMAccessAgent", "Succeeded", json!({})),
        instance("rg-b", "ss-lin", 0, "Linux").linux_vmaccess("enablevmaccess"),
        instance("rg-b", "ss-lin", 1, "Linux"),
    ]);
    let set = |rg, name, mode, os| FakeScaleSet { rg, name, mode, os };
    FakeFleet::new(vms).with_scale_sets(vec![
        set("rg-a", "ss-win", "Uniform", "Windows"),
        set("rg-a", "ss-flex", "Flexible", "Windows"),
        set("rg-b", "ss-lin", "Uniform", "Linux"),
    ])
}

/// `rg/name` of each result, `rg/scale set/instance` for an instance.
fn places(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| {
            let id = &i.as_ref().expect("no error").id;
            match id.scale_set() {
                Some(ss) => format!("{}/{}/{}", id.resource_group(), ss.name(), id.name()),
                None => format!("{}/{}", id.resource_group(), id.name()),
            }
        })
        .collect()
}

#[tokio::test]
async fn scale_set_instances_are_listed_only_when_asked_and_flexible_vms_only_once() {
    let fleet = Arc::new(fleet_with_scale_sets());
    let items = run(&fleet, DiscoveryRequest::new(SUB)).await;
    assert_eq!(
        places(&items),
        [
            "rg-a/web-01",
            "rg-a/web-02",
            "rg-b/SQL-01",
            "rg-a/ss-flex_0a1b2c3d",
            "rg-a/ss-flex_4e5f6a7b"
        ]
    );
    assert_eq!(
        fleet.scale_set_page_reads.load(Ordering::SeqCst),
        0,
        "off by default: no scale set is read"
    );

    let fleet = Arc::new(fleet_with_scale_sets());
    let request = DiscoveryRequest {
        include_scale_set_instances: true,
        ..DiscoveryRequest::new(SUB)
    };
    let items = run(&fleet, request).await;
    assert_eq!(
        places(&items),
        [
            "rg-a/web-01",
            "rg-a/web-02",
            "rg-b/SQL-01",
            "rg-a/ss-flex_0a1b2c3d",
            "rg-a/ss-flex_4e5f6a7b",
            "rg-a/ss-win/1",
            "rg-b/ss-lin/0",
        ],
        "the VMs, then the uniform instances with VMAccess; the flexible set's VMs once"
    );
    let win = items[5].as_ref().expect("ok");
    assert_eq!(win.os, OsType::Windows);
    let ext = win.vmaccess.as_ref().expect("its extension");
    assert_eq!(
        (ext.name.as_str(), ext.username.as_deref()),
        ("enablevmaccess", Some("ops"))
    );
    let lin = items[6].as_ref().expect("ok");
    assert_eq!(
        (lin.os, lin.id.scale_set().map(|s| s.name().to_owned())),
        (OsType::Linux, Some("ss-lin".to_owned()))
    );
    assert_eq!(
        fleet.instance_pages.lock().expect("lock").clone(),
        ["ss-win", "ss-win", "ss-lin"],
        "uniform sets only (3 instances at 2 a page, then 2); never the flexible one"
    );
    assert_eq!(
        fleet.extension_reads.load(Ordering::SeqCst),
        6 + 2 + 5,
        "one extension read per VM and per instance"
    );
}

#[tokio::test]
async fn os_and_name_filters_apply_to_instances_and_a_scale_set_of_another_os_is_not_listed() {
    let fleet = Arc::new(fleet_with_scale_sets());
    let request = DiscoveryRequest {
        include_scale_set_instances: true,
        mode: DiscoveryMode::All,
        os: Some(OsType::Windows),
        name_filters: vec!["SS-WIN_*".into()],
        ..DiscoveryRequest::new(SUB)
    };
    let items = run(&fleet, request).await;
    assert_eq!(
        places(&items),
        ["rg-a/ss-win/0", "rg-a/ss-win/1", "rg-a/ss-win/2"],
        "instances match by `{{scale set}}_{{instance ID}}`, in any case"
    );
    assert_eq!(items[0].as_ref().expect("ok").vmaccess, None);
    assert_eq!(
        fleet.instance_pages.lock().expect("lock").clone(),
        ["ss-win", "ss-win"],
        "the Linux scale set's instances are never listed"
    );
    assert_eq!(
        fleet.extension_reads.load(Ordering::SeqCst),
        3,
        "only the matching instances are read"
    );

    // A resource group scope lists that group's scale sets only.
    let fleet = Arc::new(fleet_with_scale_sets());
    let request = DiscoveryRequest {
        include_scale_set_instances: true,
        resource_groups: vec!["rg-b".into()],
        os: Some(OsType::Linux),
        ..DiscoveryRequest::new(SUB)
    };
    let items = run(&fleet, request).await;
    assert_eq!(places(&items), ["rg-b/ss-lin/0"]);
    assert_eq!(
        fleet.instance_pages.lock().expect("lock").clone(),
        ["ss-lin"]
    );
}

#[tokio::test]
async fn scale_sets_across_pages_keep_their_order_and_a_limit_stops_before_them() {
    let sets = ["ss-a", "ss-b", "ss-c"];
    let mut vms = big_fleet(1);
    for (i, name) in sets.into_iter().enumerate() {
        for id in 0..3 {
            vms.push(instance("rg-a", name, id, "Windows").vmaccess(
                "VMAccessAgent",
                "Succeeded",
                json!({}),
            ));
        }
        assert!(i < 3);
    }
    let scale_sets: Vec<FakeScaleSet> = sets
        .into_iter()
        .map(|name| FakeScaleSet {
            rg: "rg-a",
            name,
            mode: "Uniform",
            os: "Windows",
        })
        .collect();
    let fleet = Arc::new(FakeFleet::new(vms.clone()).with_scale_sets(scale_sets.clone()));
    let request = DiscoveryRequest {
        include_scale_set_instances: true,
        ..DiscoveryRequest::new(SUB)
    };
    let items = run(&fleet, request).await;
    let mut expected = vec!["rg-a/vm-000".to_owned()];
    for name in sets {
        expected.extend((0..3).map(|id| format!("rg-a/{name}/{id}")));
    }
    assert_eq!(places(&items), expected);
    assert_eq!(
        fleet.scale_set_page_reads.load(Ordering::SeqCst),
        2,
        "3 scale sets at 2 a page"
    );

    let fleet = Arc::new(FakeFleet::new(vms).with_scale_sets(scale_sets));
    let request = DiscoveryRequest {
        include_scale_set_instances: true,
        limit: Some(1),
        ..DiscoveryRequest::new(SUB)
    };
    let items = run(&fleet, request).await;
    assert_eq!(places(&items), ["rg-a/vm-000"]);
    assert_eq!(
        fleet.scale_set_page_reads.load(Ordering::SeqCst),
        0,
        "the VM satisfied the limit"
    );
}

#[tokio::test]
async fn a_failed_scale_set_list_is_an_error_and_a_deleted_scale_set_is_skipped() {
    let fleet = Arc::new(FakeFleet {
        scale_set_failure: Some(|| AzureError::Api {
            status: 403,
            code: "AuthorizationFailed".into(),
            message: "no Microsoft.Compute/virtualMachineScaleSets/read".into(),
            inner_code: None,
            target: None,
        }),
        ..fleet_with_scale_sets()
    });
    let request = DiscoveryRequest {
        include_scale_set_instances: true,
        ..DiscoveryRequest::new(SUB)
    };
    let items = run(&fleet, request.clone()).await;
    let error = items.last().expect("items").as_ref().expect_err("an error");
    assert!(
        matches!(error, DiscoveryError::ScaleSets { .. })
            && error
                .to_string()
                .contains(&format!("scale sets of subscription {SUB}")),
        "{error}"
    );

    let fleet = Arc::new(FakeFleet {
        deleted_scale_sets: vec!["ss-win"],
        ..fleet_with_scale_sets()
    });
    let items = run(&fleet, request).await;
    assert_eq!(
        places(&items).last().map(String::as_str),
        Some("rg-b/ss-lin/0"),
        "the other scale sets are still listed"
    );
    assert!(!places(&items).iter().any(|p| p.contains("ss-win")));
}
