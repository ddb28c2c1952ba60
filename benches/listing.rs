//! Fleet discovery against the emulator under ARM's and Compute's read budgets: 1,000 VMs in 10
//! resource groups, throttling on with the documented figures (ARM subscription reads: bucket
//! 250, refill 25/s). Prints, per run, the wall time, the ARM requests by kind, the 429s answered
//! on the wire (retried by the pipeline; none reaches the caller), and the floor the read budget
//! sets: (reads − 250) / 25 s.
//!
//! Run with `scripts/bench-listing.sh` (or `cargo bench --bench listing`).

use vm_test_support::fleet;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use terraform_provider_vm::azure::OsType;
use terraform_provider_vm::vmaccess::discovery::{
    DiscoveryMode, DiscoveryRequest, FleetReader, discover,
};
use tokio_util::sync::CancellationToken;
use vm_emulator::{LoggedRequest, ThrottleSettings};
use vm_test_support::azure_emulator::AzureEmulator;

const GROUPS: usize = 10;
const PER_GROUP: usize = 100;
const BURST: f64 = 250.0;
const REFILL: f64 = 25.0;

struct Run {
    label: String,
    request: DiscoveryRequest,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let emu = AzureEmulator::start().await;
    let page_size = 50;
    let fleet = fleet::seeded_fleet(&emu, GROUPS, PER_GROUP, page_size).await;
    println!(
        "fleet: {} VMs in {GROUPS} resource groups ({} Windows, {} Linux), {} with a VMAccess extension; page size {page_size}",
        GROUPS * PER_GROUP,
        fleet.windows,
        fleet.linux,
        fleet.with_vmaccess.len()
    );
    println!(
        "throttling: ARM subscription reads bucket {BURST}, refill {REFILL}/s; Compute HighCostGet and LowCostGet as documented"
    );
    println!();
    let sub = emu.subscription_id().to_owned();
    let mut runs = Vec::new();
    for concurrency in [1, 8, 32] {
        let mut request = DiscoveryRequest::new(&sub);
        request.concurrency = concurrency;
        runs.push(Run {
            label: format!("subscription, VMAccess VMs, concurrency {concurrency}"),
            request,
        });
    }
    let mut request = DiscoveryRequest::new(&sub);
    request.resource_groups = (0..GROUPS).map(|g| format!("rg-{g:02}")).collect();
    request.mode = DiscoveryMode::All;
    request.os = Some(OsType::Windows);
    runs.push(Run {
        label: "10 resource groups, every Windows VM, concurrency 8".into(),
        request,
    });
    let mut request = DiscoveryRequest::new(&sub);
    request.limit = Some(100);
    runs.push(Run {
        label: "subscription, VMAccess VMs, limit 100 (Terraform's default)".into(),
        request,
    });

    println!(
        "{:<58} {:>7} {:>8} {:>6} {:>6} {:>6} {:>8} {:>7}",
        "run", "found", "wall s", "pages", "ext", "429s", "floor s", "ratio"
    );
    for run in runs {
        // Fresh buckets (a configure resets them) and a fresh request log for each run.
        emu.throttle(ThrottleSettings::default()).await;
        emu.admin
            .clear_requests()
            .await
            .expect("clear the request log");
        let reader: Arc<dyn FleetReader> = Arc::new(emu.client());
        let started = Instant::now();
        let items: Vec<_> = discover(reader, run.request, &CancellationToken::new())
            .expect("valid request")
            .collect()
            .await;
        let wall = started.elapsed();
        let errors = items.iter().filter(|i| i.is_err()).count();
        assert_eq!(errors, 0, "an error reached the caller: {items:?}");
        let log = emu.requests().await;
        let arm: Vec<&LoggedRequest> = log
            .iter()
            .filter(|r| r.path.starts_with("/subscriptions/"))
            .collect();
        let pages = arm
            .iter()
            .filter(|r| r.path.ends_with("/virtualMachines"))
            .count();
        let extensions = arm
            .iter()
            .filter(|r| r.path.ends_with("/extensions"))
            .count();
        let throttled = arm.iter().filter(|r| r.status == Some(429)).count();
        let reads = (arm.len() - throttled) as f64;
        let floor = ((reads - BURST).max(0.0) / REFILL).max(0.0);
        let ratio = if floor > 0.0 {
            format!("{:.2}", wall.as_secs_f64() / floor)
        } else {
            "-".into()
        };
        println!(
            "{:<58} {:>7} {:>8.2} {:>6} {:>6} {:>6} {:>8.1} {:>7}",
            run.label,
            items.len(),
            wall.as_secs_f64(),
            pages,
            extensions,
            throttled,
            floor,
            ratio
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!();
    println!(
        "pages/ext: ARM requests answered (list pages, extension lists), 429s included; 429s: answered 429 and retried by the pipeline"
    );
    println!(
        "floor: (successful reads - {BURST}) / {REFILL} s, the least time ARM's subscription read budget allows from a full bucket"
    );
}
