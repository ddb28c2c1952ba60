//! What every Terraform object shares at run time: the Azure settings once Terraform has
//! configured the provider, one lazily built ARM client (one connection pool, one token cache),
//! the per-VM locks, and the token StopProvider cancels. The provider fills it; the resource, the
//! action and the list resource use it (through [`crate::surface`] where an error must become a
//! diagnostic). It imports only the engine and the Azure client.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::azure::{ArmClient, AzureError, AzureSettings, OpContext};
use crate::vmaccess::discovery::FleetReader;
use crate::vmaccess::{Engine, VmLocks};

pub(crate) struct Runtime {
    settings: OnceLock<AzureSettings>,
    client: OnceLock<ArmClient>,
    locks: Arc<VmLocks>,
    stop: CancellationToken,
}

impl Runtime {
    pub(crate) fn new(stop: CancellationToken) -> Runtime {
        Runtime {
            settings: OnceLock::new(),
            client: OnceLock::new(),
            locks: Arc::new(VmLocks::default()),
            stop,
        }
    }

    /// Records the provider's settings; the first configuration wins.
    pub(crate) fn configure(&self, settings: AzureSettings) {
        let _ = self.settings.set(settings);
    }

    /// The provider's subscription, once configured.
    pub(crate) fn subscription_id(&self) -> Option<String> {
        self.settings.get()?.subscription_id.clone()
    }

    /// An operation's deadline, cancelled by StopProvider.
    pub(crate) fn context(&self, timeout: Duration) -> OpContext {
        OpContext::new(timeout, self.stop.child_token())
    }

    /// The engine over the shared client, built on first use. Building it makes no network
    /// call; authentication happens on the first request.
    pub(crate) fn engine(&self) -> Result<Engine<ArmClient>, AzureError> {
        Ok(Engine::new(self.client()?, self.locks.clone()))
    }

    /// Fleet discovery's reads over the shared client (built as [`Runtime::engine`] builds it).
    pub(crate) fn fleet_reader(&self) -> Result<Arc<dyn FleetReader>, AzureError> {
        Ok(Arc::new(self.client()?))
    }

    /// Cancelled by StopProvider, for work that makes its own deadlines.
    pub(crate) fn stop_token(&self) -> &CancellationToken {
        &self.stop
    }

    fn client(&self) -> Result<ArmClient, AzureError> {
        if let Some(client) = self.client.get() {
            return Ok(client.clone());
        }
        let settings = self.settings.get().ok_or_else(|| AzureError::Internal {
            detail: "the provider was used before Terraform configured it".to_string(),
        })?;
        let client = ArmClient::new(settings.clone())?;
        Ok(self.client.get_or_init(|| client).clone())
    }
}
