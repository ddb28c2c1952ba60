//! A running emulator: [`Emulator::start`] generates the TLS material and the token signing
//! key, binds the listener, builds the state, applies the seed, opens the spec log if one is
//! configured and serves the API until [`Emulator::shutdown`].

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::EmulatorConfig;
use crate::state::AppState;
use crate::tenant::tokens::SigningKey;
use crate::{api, server, tls};

/// Errors starting the emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The configured address.
        addr: SocketAddr,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// The certificates or the token signing key could not be generated.
    #[error("cannot generate TLS material: {0}")]
    Tls(String),
    /// A seeded VM has no resource group or name.
    #[error("invalid seed: {0}")]
    Seed(String),
    /// The spec log's file could not be created.
    #[error("cannot open the spec log in {dir}: {source}")]
    SpecLog {
        /// The configured directory.
        dir: std::path::PathBuf,
        /// Why it could not be opened.
        source: std::io::Error,
    },
}

/// A running emulator. Dropping it leaves the server running until the
/// runtime stops; call [`Emulator::shutdown`] to stop it.
pub struct Emulator {
    addr: SocketAddr,
    ca_pem: String,
    config: EmulatorConfig,
    state: Arc<AppState>,
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
        let signing_key = SigningKey::generate().map_err(|e| EmulatorError::Tls(e.to_string()))?;
        let endpoint = format!("https://{addr}");
        let state = Arc::new(AppState::new(config.clone(), endpoint, signing_key));
        if let Some(seed) = &config.seed {
            let mut world = state.world();
            for seeded in &seed.0 {
                api::insert_seeded(&mut world, &config.subscription_id, seeded)
                    .map_err(EmulatorError::Seed)?;
            }
        }
        let spec_log = match &config.spec_log {
            None => None,
            Some(dir) => match api::SpecLog::open(dir) {
                Ok(log) => Some(log),
                Err(source) => {
                    let dir = dir.clone();
                    return Err(EmulatorError::SpecLog { dir, source });
                }
            },
        };
        let router = api::router(state.clone(), spec_log);
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

    /// The address it listens on.
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

    /// The configuration it started with.
    pub fn config(&self) -> &EmulatorConfig {
        &self.config
    }

    /// Stops accepting connections and closes the open ones.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}
