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
    name: String,
    os: &'static str,
    /// (name, publisher, type, provisioning state, settings)
    extensions: Vec<(String, &'static str, &'static str, &'static str, Value)>,
}

fn vm(rg: &'static str, name: &str, os: &'static str) -> FakeVm {
    FakeVm {
        rg,
        name: name.into(),
        os,
        extensions: Vec::new(),
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
        VirtualMachineId::new(SUB, self.rg, self.name.clone())
    }
}

/// A fleet served in pages of `page_size`, counting every read.
struct FakeFleet {
    vms: Vec<FakeVm>,
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
}

impl FakeFleet {
    fn new(vms: Vec<FakeVm>) -> FakeFleet {
        FakeFleet {
            vms,
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
        }
    }

    fn in_scope(&self, scope: &VmListScope) -> Vec<&FakeVm> {
        self.vms
            .iter()
            .filter(|v| {
                scope
                    .resource_group
                    .as_deref()
                    .is_none_or(|rg| rg.eq_ignore_ascii_case(v.rg))
            })
            .collect()
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
        let start: usize = next_link.map_or(0, |l| l.parse().expect("our own link"));
        let all = self.in_scope(scope);
        let vms = all
            .iter()
            .skip(start)
            .take(self.page_size)
            .map(|v| {
                serde_json::from_value(json!({
                    "id": v.id().to_string(),
                    "name": v.name,
                    "properties": {"storageProfile": {"osDisk": {"osType": v.os}}},
                }))
                .expect("VM JSON")
            })
            .collect();
        let end = start + self.page_size;
        Ok(VmPage {
            vms,
            next_link: (end < all.len()).then(|| end.to_string()),
        })
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
        let fake = self
            .vms
            .iter()
            .find(|v| v.name == vm.name())
            .expect("listed VM");
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
