//! A local emulator of the slice of Azure that `terraform-provider-vm` talks to.
//!
//! It serves, over HTTPS with a certificate authority generated per start:
//! Azure cloud metadata, Entra ID (OpenID discovery, signing keys, a token
//! endpoint issuing signed JWTs for client secret, client certificate and
//! federated credentials), the Azure Resource Manager API for subscriptions,
//! virtual machines and their extensions (with long-running operations and
//! `api-version` validation), the VM extension image catalogue, and an
//! admin API under `/_emulator/` that tests use to seed VMs, inspect the guest
//! (accounts, Remote Desktop), inject faults and turn on throttling. Tests drive
//! it through [`admin::AdminClient`] (cargo feature `client`, on by default).
//!
//! The guest-side behaviour of the `Microsoft.Compute/VMAccessAgent` extension
//! is modelled in [`model::vmaccess`]. It is not a general Azure emulator: only
//! the resources and behaviours the provider depends on exist here.

pub mod admin;
pub mod api;
mod clock;
pub mod compute_reads;
pub mod faults;
pub mod model;
mod server;
pub mod state;
pub mod throttle;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use admin::messages::{
    AccountSeed, AccountView, Credentials, ExtensionView, LOCKED_OUT_PASSWORD, LOCKED_OUT_USER,
    LoggedRequest, LroStyle, Seed, SeededVm, VmPatch, VmSeed, VmView,
};
pub use compute_reads::ComputeReadSettings;
pub use faults::{FaultAction, FaultSpec, StatusFault};
pub use model::vm::{OsType, PowerState};
pub use throttle::{BucketSpec, ThrottleSettings};

/// The bearer token the GitHub Actions ID-token endpoint
/// (`/_emulator/oidc/github`) accepts unless changed through `/_emulator/config`.
pub const DEFAULT_GITHUB_REQUEST_TOKEN: &str = "emulator-github-request-token";

/// The `System.AccessToken` the Azure Pipelines OIDC endpoint
/// (`/_emulator/oidc/ado`) accepts.
pub const DEFAULT_PIPELINES_ACCESS_TOKEN: &str = "emulator-pipelines-access-token";
/// The `X-IDENTITY-HEADER` value the managed-identity endpoint
/// (`/_emulator/msi/token`) accepts.
pub const DEFAULT_IDENTITY_HEADER: &str = "emulator-identity-header";
/// The audience ARM tokens are issued for; the token scope is this plus `.default`.
pub const ARM_AUDIENCE: &str = "https://management.emulator.local/";

/// VMs per list page unless configured otherwise (Compute does not document its page size).
pub const DEFAULT_LIST_PAGE_SIZE: usize = 50;

/// Start-up configuration.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub subscription_id: String,
    pub listen: SocketAddr,
    pub operation_delay: Duration,
    pub poll_retry_after_secs: u64,
    pub token_lifetime: Duration,
    pub lro_style: LroStyle,
    pub seed: Option<Seed>,
    /// VMs per page of `GET …/virtualMachines` (ARM pages with `nextLink`).
    pub list_page_size: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            tenant_id: "00000000-0000-0000-0000-0000000000aa".into(),
            client_id: "00000000-0000-0000-0000-0000000000bb".into(),
            client_secret: format!("emulator-secret-{}", uuid::Uuid::new_v4().simple()),
            subscription_id: "00000000-0000-0000-0000-0000000000cc".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            operation_delay: Duration::from_millis(300),
            poll_retry_after_secs: 1,
            token_lifetime: Duration::from_secs(3600),
            lro_style: LroStyle::AsyncOperation,
            seed: None,
            list_page_size: DEFAULT_LIST_PAGE_SIZE,
        }
    }
}

/// Errors starting the emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot generate TLS material: {0}")]
    Tls(String),
    #[error("invalid seed: {0}")]
    Seed(String),
}

/// A running emulator. Dropping it leaves the server running until the
/// runtime stops; call [`Emulator::shutdown`] to stop it.
pub struct Emulator {
    addr: SocketAddr,
    ca_pem: String,
    config: EmulatorConfig,
    state: Arc<state::AppState>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Emulator {
    /// Generates TLS material, binds the listener, applies the seed and serves.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| EmulatorError::Listen {
                addr: config.listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Listen {
                addr: config.listen,
                source,
            })?;
        let material = tls::generate().map_err(|e| EmulatorError::Tls(e.to_string()))?;
        let signing_key =
            api::tokens::SigningKey::generate().map_err(|e| EmulatorError::Tls(e.to_string()))?;
        let endpoint = format!("https://{addr}");
        let state = Arc::new(state::AppState::new(config.clone(), endpoint, signing_key));
        if let Some(seed) = &config.seed {
            let mut world = state.world();
            for seeded in &seed.0 {
                api::insert_seeded(&mut world, &config.subscription_id, seeded)
                    .map_err(EmulatorError::Seed)?;
            }
        }
        let router = api::router(state.clone());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let task = tokio::spawn(server::serve(
            listener,
            material.server_config,
            router,
            shutdown_rx,
        ));
        Ok(Emulator {
            addr,
            ca_pem: material.ca_pem,
            config,
            state,
            shutdown,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT`, without a trailing slash.
    pub fn endpoint(&self) -> String {
        self.state.endpoint.clone()
    }

    /// `127.0.0.1:PORT`, the value for `ARM_METADATA_HOST`-style settings.
    pub fn metadata_host(&self) -> String {
        self.addr.to_string()
    }

    /// The PEM of the certificate authority that signed the server certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.config
    }

    /// Stops accepting connections and closes the open ones.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}
