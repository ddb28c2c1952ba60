//! `vm-emulator`: runs the emulator until SIGINT/SIGTERM.
//!
//! Prints one JSON line describing the running emulator on stdout (also
//! written to `STATE_DIR/emulator.json`, with the CA in `STATE_DIR/ca.pem`);
//! everything else goes to stderr. `VM_EMULATOR_SPEC_LOG=DIR` turns on the spec log
//! (`EmulatorConfig::spec_log`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde_json::json;
use vm_emulator::{Emulator, EmulatorConfig, LroStyle, Seed};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LroArg {
    Async,
    Location,
}

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Local emulator of the Azure APIs used by terraform-provider-vm"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Directory for ca.pem and emulator.json (default: a fresh temp dir).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// JSON list of VMs to create at start.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// How long extension operations take.
    #[arg(long, default_value_t = 300)]
    operation_delay_ms: u64,
    /// How clients are told to poll long-running operations.
    #[arg(long, value_enum, default_value = "async")]
    lro_style: LroArg,
    /// Retry-After seconds on long-running-operation responses.
    #[arg(long, default_value_t = 1)]
    poll_retry_after_secs: u64,
    /// Client secret to accept (default: random).
    #[arg(long)]
    client_secret: Option<String>,
    #[arg(long)]
    tenant_id: Option<String>,
    #[arg(long)]
    client_id: Option<String>,
    #[arg(long)]
    subscription_id: Option<String>,
    /// Lifetime of issued access tokens.
    #[arg(long, default_value_t = 3600)]
    token_lifetime_secs: u64,
    /// VMs per page of a VM list (small values make clients cross pages).
    #[arg(long, default_value_t = vm_emulator::DEFAULT_LIST_PAGE_SIZE as u64, value_parser = clap::value_parser!(u64).range(1..))]
    list_page_size: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("vm-emulator: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let defaults = EmulatorConfig::default();
    let seed = match &args.seed {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Some(
                serde_json::from_str::<Seed>(&text)
                    .map_err(|e| format!("invalid seed {}: {e}", path.display()))?,
            )
        }
    };
    let config = EmulatorConfig {
        tenant_id: args.tenant_id.unwrap_or(defaults.tenant_id),
        client_id: args.client_id.unwrap_or(defaults.client_id),
        client_secret: args.client_secret.unwrap_or(defaults.client_secret),
        subscription_id: args.subscription_id.unwrap_or(defaults.subscription_id),
        listen: args.listen,
        operation_delay: Duration::from_millis(args.operation_delay_ms),
        poll_retry_after_secs: args.poll_retry_after_secs,
        token_lifetime: Duration::from_secs(args.token_lifetime_secs),
        lro_style: match args.lro_style {
            LroArg::Async => LroStyle::AsyncOperation,
            LroArg::Location => LroStyle::LocationOnly,
        },
        seed,
        list_page_size: usize::try_from(args.list_page_size).unwrap_or(usize::MAX),
        spec_log: defaults.spec_log,
    };
    let state_dir = match args.state_dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("vm-emulator-{}", uuid::Uuid::new_v4().simple())),
    };
    std::fs::create_dir_all(&state_dir)
        .map_err(|e| format!("cannot create {}: {e}", state_dir.display()))?;
    let emulator = Emulator::start(config).await.map_err(|e| e.to_string())?;
    let ca_file = state_dir.join("ca.pem");
    std::fs::write(&ca_file, emulator.ca_pem())
        .map_err(|e| format!("cannot write {}: {e}", ca_file.display()))?;
    let config = emulator.config();
    let description = json!({
        "endpoint": emulator.endpoint(),
        "metadata_host": emulator.metadata_host(),
        "ca_file": ca_file,
        "tenant_id": config.tenant_id,
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "subscription_id": config.subscription_id,
        "github_request_token": vm_emulator::DEFAULT_GITHUB_REQUEST_TOKEN,
        "identity_header": vm_emulator::DEFAULT_IDENTITY_HEADER,
        "pid": std::process::id(),
    });
    let json_file = state_dir.join("emulator.json");
    std::fs::write(&json_file, format!("{description}\n"))
        .map_err(|e| format!("cannot write {}: {e}", json_file.display()))?;
    println!("{description}");
    eprintln!(
        "vm-emulator: serving {} (state in {})",
        emulator.endpoint(),
        state_dir.display()
    );
    wait_for_signal().await;
    eprintln!("vm-emulator: shutting down");
    emulator.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
