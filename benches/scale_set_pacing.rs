//! Resetting VMAccess on every instance of a 500-instance scale set (issue 21) under the
//! emulator's per-subscription write budget, modelled two ways:
//! - ARM's token bucket: capacity 100, refilled 20/s; floor (writes − 100) / 20 s;
//! - a window counting the last 5 s of writes against a limit of 100 (the way Compute counts
//!   its per-VM policies); floor (⌈writes / 100⌉ − 1) · 5 s: the last hundred can go only once the
//!   first of the hundred before them has left the window.
//!
//! The figures are scaled down from ARM's (bucket 200, 10/s) so a run takes ~20 s. Per-VM budgets
//! keep Azure's defaults: each instance gets one write. The reset is the provider's own: the
//! engine reads the uniform scale set and its instances (paged), then checks and resets each
//! instance through its extension API (one VMAccess PUT and its wait), `MAX_PARALLEL` at a time
//! (the surfaces' default), over the provider's `ArmClient` (pipeline, retries, pacer) with
//! production retry and poll policies, and a fresh client (so a fresh pacer) per model.
//!
//! Prints, per model: writes, wall time, floor, ratio, the 429s the emulator answered, and PASS
//! or FAIL against the targets (wall ≤ 1.15 × floor, ≤ 20 throttled writes). Exits 1 if
//! a model fails. Run with `cargo bench --bench scale_set_pacing`.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use terraform_provider_vm::azure::{ArmClient, OpContext, ScaleSetId};
use terraform_provider_vm::vmaccess::reset_every_instance;
use tokio_util::sync::CancellationToken;
use vm_emulator::admin::{ScaleSetRef, ScaleSetSeed};
use vm_emulator::{
    BucketSpec, EmulatorConfig, ThrottleSettings, VmSeed, WindowBudgets, WindowSpec,
};
use vm_test_support::azure_emulator::AzureEmulator;

const INSTANCES: u32 = 500;
/// The surfaces' default `max_parallel_instances`.
const MAX_PARALLEL: usize = 50;
const SCALE_SET: &str = "vmss-bench";
const RESOURCE_GROUP: &str = "bench-vmss";
const BUCKET_CAPACITY: f64 = 100.0;
const BUCKET_REFILL: f64 = 20.0;
const WINDOW_LIMIT: u64 = 100;
const WINDOW_SECONDS: f64 = 5.0;
const MAX_RATIO: f64 = 1.15;
const MAX_THROTTLED: usize = 20;

/// One way of modelling the subscription's write budget.
struct Model {
    label: &'static str,
    budget: ThrottleSettings,
    formula: &'static str,
    floor: fn(usize) -> f64,
}

fn models() -> Vec<Model> {
    let bucket = BucketSpec {
        capacity: BUCKET_CAPACITY,
        refill_per_sec: BUCKET_REFILL,
    };
    vec![
        Model {
            label: "token bucket 100, refill 20/s",
            budget: ThrottleSettings {
                subscription_writes: bucket,
                ..ThrottleSettings::default()
            },
            formula: "(writes - 100) / 20",
            floor: |writes| (writes as f64 - BUCKET_CAPACITY).max(0.0) / BUCKET_REFILL,
        },
        Model {
            label: "window 100 per 5 s",
            budget: ThrottleSettings {
                subscription_writes: bucket,
                windows: WindowBudgets {
                    subscription_writes: Some(WindowSpec {
                        limit: WINDOW_LIMIT,
                        seconds: WINDOW_SECONDS,
                    }),
                    ..WindowBudgets::default()
                },
                ..ThrottleSettings::default()
            },
            formula: "(ceil(writes / 100) - 1) * 5",
            floor: |writes| {
                (writes as f64 / WINDOW_LIMIT as f64).ceil().max(1.0) - 1.0
            } * WINDOW_SECONDS,
        },
    ]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if !runtime.block_on(bench()) {
        std::process::exit(1);
    }
}

/// Runs every model; whether all passed.
async fn bench() -> bool {
    // Extensions finish 50 ms after their PUT and polls carry no Retry-After, so an instance's
    // reset costs little beyond its write: the wall time is the write budget's.
    let emu = AzureEmulator::start_with(EmulatorConfig {
        operation_delay: Duration::from_millis(50),
        poll_retry_after_secs: 0,
        ..EmulatorConfig::default()
    })
    .await;
    let scale_set = ScaleSetRef::new(emu.subscription_id(), RESOURCE_GROUP, SCALE_SET);
    let seeded = emu
        .admin
        .seed_scale_set(
            &scale_set,
            &ScaleSetSeed::uniform(INSTANCES, VmSeed::locked_out()),
        )
        .await
        .expect("scale set seeded");
    let id = ScaleSetId::parse(&seeded.id).expect("scale set id");
    println!(
        "a uniform scale set of {INSTANCES} instances reset through the engine (instance check, VMAccess PUT + wait each), \
         {MAX_PARALLEL} at a time; per-VM budgets as Azure documents them"
    );
    println!();
    println!(
        "{:<32} {:>6} {:>8} {:>8} {:>6} {:>10} {:>10}  result",
        "subscription write budget",
        "writes",
        "wall s",
        "floor s",
        "ratio",
        "429 writes",
        "429 reads"
    );
    let mut all_passed = true;
    let mut formulas = Vec::new();
    for model in models() {
        // A configure empties every budget's count; a fresh client has a pacer that knows nothing.
        emu.throttle(model.budget).await;
        emu.admin
            .clear_requests()
            .await
            .expect("clear the request log");
        let client = ArmClient::builder(emu.settings())
            .with_extra_root_pem(emu.emulator.ca_pem())
            .build()
            .expect("client builds");
        let ctx = OpContext::new(Duration::from_secs(600), CancellationToken::new());
        let started = Instant::now();
        let password = SecretString::from("N3w-Passw0rd!x");
        let (succeeded, failed) =
            reset_every_instance(client, &id, "opsadmin", password, MAX_PARALLEL, &ctx)
                .await
                .expect("the scale set is read");
        let wall = started.elapsed().as_secs_f64();
        assert_eq!(
            (succeeded, failed),
            (INSTANCES as usize, 0),
            "every instance takes the reset"
        );
        let log = emu.requests().await;
        let puts = log
            .iter()
            .filter(|r| r.method == "PUT" && r.path.contains("/extensions/"));
        let (throttled_writes, writes) = puts.fold((0, 0), |(t, w), r| {
            if r.status == Some(429) {
                (t + 1, w)
            } else {
                (t, w + 1)
            }
        });
        let throttled_reads = log
            .iter()
            .filter(|r| r.method == "GET" && r.status == Some(429))
            .count();
        let floor = (model.floor)(writes);
        let ratio = wall / floor;
        let passed = ratio <= MAX_RATIO && throttled_writes <= MAX_THROTTLED;
        all_passed &= passed;
        println!(
            "{:<32} {:>6} {:>8.2} {:>8.1} {:>6.3} {:>10} {:>10}  {}",
            model.label,
            writes,
            wall,
            floor,
            ratio,
            throttled_writes,
            throttled_reads,
            if passed { "PASS" } else { "FAIL" }
        );
        formulas.push(format!("{}: floor = {} s", model.label, model.formula));
    }
    println!();
    for f in formulas {
        println!("{f}");
    }
    println!(
        "writes: extension PUTs answered other than 429; 429 writes/reads: answered 429 by the emulator (retried by the pipeline)"
    );
    println!("PASS: ratio <= {MAX_RATIO} and 429 writes <= {MAX_THROTTLED}");
    all_passed
}
