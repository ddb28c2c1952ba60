//! Launch benchmark: N launches of the release binary exactly as Terraform
//! does them, each timed from spawn to exit:
//! spawn with the handshake environment and a fresh P-521 client
//! certificate → read the handshake line → connect over the unix socket with
//! mTLS → GetProviderSchema → GRPCController.Shutdown (and close the
//! connection, as go-plugin's Kill does) → wait for the exit.
//!
//! Reports the median and p90 wall time and the peak RSS (max over runs of
//! `ru_maxrss` from `wait4`). Targets: ≤ 10 ms median, ≤ 15 MB RSS.
//!
//! Run: `cargo bench --bench launch` (it builds the release binary first
//! with `scripts/build-release.sh`, the binary that ships: static on Linux).
//! `LAUNCH_RUNS=<n>` changes the number of measured launches (default 50);
//! `LAUNCH_BIN=<path>` measures that binary instead of building one (to
//! compare builds, e.g. a dynamically linked `cargo build --release`).

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use terraform_provider_vm::plugin::services::proto as go_plugin;
use terraform_provider_vm::tfprotocol::proto;
use vm_test_support::plugin::{ClientIdentity, PluginProcess, provider_client, terraform_command};

const TARGET_MEDIAN: Duration = Duration::from_millis(10);
const TARGET_RSS_MB: f64 = 15.0;
const WARMUP: usize = 3;

struct Run {
    total: Duration,
    handshake: Duration,
    max_rss_kb: i64,
}

fn release_binary() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("LAUNCH_BIN").map(PathBuf::from) {
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!("LAUNCH_BIN={} is not a file", bin.display()))
        };
    }
    // The binary as it ships: scripts/build-release.sh (static on Linux).
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/build-release.sh");
    eprintln!("building: {}", script.display());
    let out = Command::new("bash")
        .arg(&script)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("could not run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed ({})", script.display(), out.status));
    }
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !bin.is_file() {
        return Err(format!(
            "build-release.sh printed {}, not a file",
            bin.display()
        ));
    }
    Ok(bin)
}

fn launch_once(rt: &tokio::runtime::Runtime, bin: &std::path::Path) -> Result<Run, String> {
    // Terraform generates its certificate before starting the plugin; that
    // cost is Terraform's, so it is outside the timed window.
    let identity = ClientIdentity::terraform_like();
    let cmd = terraform_command(bin, Some(&identity));

    let start = Instant::now();
    let mut process = PluginProcess::spawn(cmd, identity)?;
    let handshake = start.elapsed();
    rt.block_on(async {
        let channel = process
            .channel()
            .await
            .map_err(|e| format!("connect: {e:?}"))?;
        let schema = provider_client(channel.clone())
            .get_provider_schema(proto::get_provider_schema::Request {})
            .await
            .map_err(|e| format!("GetProviderSchema: {e}"))?
            .into_inner();
        if !schema.resource_schemas.contains_key("vm_access_reset") {
            return Err("GetProviderSchema lacks vm_access_reset".to_string());
        }
        go_plugin::grpc_controller_client::GrpcControllerClient::new(channel)
            .shutdown(go_plugin::Empty {})
            .await
            .map_err(|e| format!("Shutdown: {e}"))?;
        Ok::<_, String>(())
    })?;
    let (status, usage) = process.wait4();
    let total = start.elapsed();
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(format!(
            "the provider did not exit 0 (wait status {status:#x}); stderr: {}",
            process.stderr()
        ));
    }
    Ok(Run {
        total,
        handshake,
        max_rss_kb: usage.ru_maxrss,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest-rank percentile.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; a filter argument that does not match
    // "launch" skips the benchmark, as libtest would.
    if let Some(filter) = std::env::args().skip(1).find(|a| !a.starts_with('-'))
        && !"launch".contains(filter.as_str())
    {
        return ExitCode::SUCCESS;
    }
    let bin = match release_binary() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("launch benchmark: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runs: usize = std::env::var("LAUNCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(50);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");

    println!(
        "launch benchmark: {} ({} bytes), {runs} runs after {WARMUP} warm-up runs",
        bin.display(),
        std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0)
    );
    let mut results = Vec::with_capacity(runs);
    for i in 0..WARMUP + runs {
        match launch_once(&rt, &bin) {
            Ok(r) if i >= WARMUP => results.push(r),
            Ok(_) => {}
            Err(e) => {
                eprintln!("launch benchmark: run {i} failed: {e}");
                return ExitCode::FAILURE;
            }
        }
    }

    let mut totals: Vec<Duration> = results.iter().map(|r| r.total).collect();
    totals.sort();
    let mut handshakes: Vec<Duration> = results.iter().map(|r| r.handshake).collect();
    handshakes.sort();
    let peak_rss_mb = results.iter().map(|r| r.max_rss_kb).max().unwrap_or(0) as f64 / 1024.0;
    let median = percentile(&totals, 50.0);
    let p90 = percentile(&totals, 90.0);

    println!("whole launch (spawn → handshake → mTLS → GetProviderSchema → Shutdown → exit):");
    println!(
        "  median {:.2} ms   p90 {:.2} ms   min {:.2} ms   max {:.2} ms",
        ms(median),
        ms(p90),
        ms(totals[0]),
        ms(totals[totals.len() - 1])
    );
    println!(
        "  handshake line after spawn: median {:.2} ms   p90 {:.2} ms",
        ms(percentile(&handshakes, 50.0)),
        ms(percentile(&handshakes, 90.0))
    );
    println!("  peak RSS (max ru_maxrss over runs): {peak_rss_mb:.2} MB");
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "  target median ≤ {} ms: {}   target RSS ≤ {TARGET_RSS_MB} MB: {}",
        TARGET_MEDIAN.as_millis(),
        verdict(median <= TARGET_MEDIAN),
        verdict(peak_rss_mb <= TARGET_RSS_MB)
    );
    ExitCode::SUCCESS
}
