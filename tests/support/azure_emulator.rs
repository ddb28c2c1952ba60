//! Shared fixture: an in-process `vm-emulator` plus helpers to build an `ArmClient` against it
//! and to drive the emulator's admin API (seed VMs, inject faults, read the request log).
//!
//! Every helper talks real HTTPS to the emulator, trusting its CA explicitly (never through the process-wide
//! SSL_CERT_FILE, so tests can run in parallel).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use terraform_provider_vm::azure::{
    ArmClient, AzureSettings, OpContext, PollPolicy, RetryPolicy, VirtualMachineId,
};
use tokio_util::sync::CancellationToken;
use vm_emulator::{Emulator, EmulatorConfig};

/// The forgotten password of the locked-out seed ([`AzureEmulator::seed_locked_out_vm`]).
pub const LOCKED_OUT_PASSWORD: &str = "Forgotten-Passw0rd!";

/// The `force_update_tag` of [`AzureEmulator::put_portal_reset`]'s extension.
pub const PORTAL_TAG: &str = "portal-run-1";

/// The resource group of every seed that does not name one.
pub const RESOURCE_GROUP: &str = "rg-test";

pub struct AzureEmulator {
    pub emulator: Emulator,
    admin: reqwest::Client,
}

impl AzureEmulator {
    /// Starts an emulator with quick operations (150 ms) and `Retry-After: 1` on polls.
    pub async fn start() -> AzureEmulator {
        let config = EmulatorConfig {
            operation_delay: Duration::from_millis(150),
            poll_retry_after_secs: 1,
            ..EmulatorConfig::default()
        };
        AzureEmulator::start_with(config).await
    }

    pub async fn start_with(config: EmulatorConfig) -> AzureEmulator {
        let emulator = Emulator::start(config).await.expect("emulator starts");
        let ca = reqwest::Certificate::from_pem(emulator.ca_pem().as_bytes()).expect("CA PEM");
        let admin = reqwest::Client::builder()
            .tls_certs_only([ca])
            .build()
            .expect("admin client");
        AzureEmulator { emulator, admin }
    }

    pub fn endpoint(&self) -> String {
        self.emulator.endpoint()
    }

    pub fn client_secret(&self) -> &str {
        &self.emulator.config().client_secret
    }

    pub fn subscription_id(&self) -> &str {
        &self.emulator.config().subscription_id
    }

    /// Client-secret settings for the emulator as a custom cloud (`metadata_host`).
    pub fn settings(&self) -> AzureSettings {
        let c = self.emulator.config();
        AzureSettings {
            subscription_id: Some(c.subscription_id.clone()),
            tenant_id: Some(c.tenant_id.clone()),
            client_id: Some(c.client_id.clone()),
            client_secret: Some(SecretString::from(c.client_secret.clone())),
            use_cli: false,
            metadata_host: Some(self.emulator.metadata_host()),
            ..AzureSettings::default()
        }
    }

    /// Retries fast enough for a test suite (the production defaults are seconds).
    pub fn fast_retry() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_retries: 4,
        }
    }

    pub fn fast_poll() -> PollPolicy {
        PollPolicy {
            initial: Duration::from_millis(200),
            factor: 1.5,
            max: Duration::from_secs(2),
        }
    }

    /// A client for `settings`, trusting the emulator's CA.
    pub fn client_for(&self, settings: AzureSettings) -> ArmClient {
        ArmClient::builder(settings)
            .with_extra_root_pem(self.emulator.ca_pem())
            .with_retry_policy(Self::fast_retry())
            .with_poll_policy(Self::fast_poll())
            .build()
            .expect("client builds")
    }

    pub fn client(&self) -> ArmClient {
        self.client_for(self.settings())
    }

    fn admin_url(&self, path: &str) -> String {
        format!(
            "{}/_emulator/{}",
            self.endpoint(),
            path.trim_start_matches('/')
        )
    }

    /// Calls the emulator's admin API (`/_emulator/{path}`) and returns its JSON.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.admin.request(method.clone(), self.admin_url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("admin request");
        let status = resp.status();
        let text = resp.text().await.expect("admin body");
        assert!(
            status.is_success(),
            "admin {method} {path}: {status} {text}"
        );
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("admin JSON")
        }
    }

    /// Seeds a VM (see the emulator's `VmSeed`) in [`RESOURCE_GROUP`].
    pub async fn seed_vm(&self, name: &str, seed: Value) -> VirtualMachineId {
        self.seed_vm_in(RESOURCE_GROUP, name, seed).await
    }

    /// Seeds a VM in `resource_group`.
    pub async fn seed_vm_in(
        &self,
        resource_group: &str,
        name: &str,
        seed: Value,
    ) -> VirtualMachineId {
        let id = VirtualMachineId::new(self.subscription_id(), resource_group, name);
        self.admin(reqwest::Method::PUT, &vm_path(&id), Some(seed))
            .await;
        id
    }

    /// A running Windows VM with a ready agent and one administrator account.
    pub async fn seed_windows_vm(&self, name: &str) -> VirtualMachineId {
        let admin = json!([{"name": "azureadmin", "password": "Initial-Passw0rd!", "enabled": true, "administrator": true}]);
        self.seed_windows_vm_with(name, admin).await
    }

    /// A running Windows VM with a ready agent and these accounts (see the emulator's
    /// `AccountSeed`): the one seed of a healthy Windows VM every test starts from.
    pub async fn seed_windows_vm_with(&self, name: &str, accounts: Value) -> VirtualMachineId {
        self.seed_vm(name, windows_seed(accounts)).await
    }

    /// The VM of the README's story: a running Windows VM whose administrator `opsadmin` is
    /// disabled, with a forgotten password ([`LOCKED_OUT_PASSWORD`]).
    pub async fn seed_locked_out_vm(&self, name: &str) -> VirtualMachineId {
        self.seed_locked_out_vm_in(RESOURCE_GROUP, name).await
    }

    /// [`Self::seed_locked_out_vm`] in `resource_group`.
    pub async fn seed_locked_out_vm_in(
        &self,
        resource_group: &str,
        name: &str,
    ) -> VirtualMachineId {
        let accounts =
            json!([{"name": "opsadmin", "password": LOCKED_OUT_PASSWORD, "enabled": false}]);
        self.seed_vm_in(resource_group, name, windows_seed(accounts))
            .await
    }

    pub async fn vm_view(&self, id: &VirtualMachineId) -> Value {
        self.admin(reqwest::Method::GET, &vm_path(id), None).await
    }

    /// Whether the guest accepts this username/password.
    pub async fn login(&self, id: &VirtualMachineId, username: &str, password: &str) -> bool {
        let v = self
            .admin(
                reqwest::Method::POST,
                &format!("{}/login", vm_path(id)),
                Some(json!({"username": username, "password": password})),
            )
            .await;
        v["ok"].as_bool().unwrap_or(false)
    }

    /// Out-of-band changes to the VM (power state, agent, domain controller…).
    pub async fn patch_vm(&self, id: &VirtualMachineId, patch: Value) -> Value {
        self.admin(reqwest::Method::PATCH, &vm_path(id), Some(patch))
            .await
    }

    /// Out-of-band changes to an extension (provisioning state, tag…).
    pub async fn patch_extension(&self, id: &VirtualMachineId, name: &str, patch: Value) -> Value {
        let path = extension_path(id, name);
        self.admin(reqwest::Method::PATCH, &path, Some(patch)).await
    }

    /// Creates an extension directly, as the portal or another tool would.
    pub async fn put_extension(&self, id: &VirtualMachineId, name: &str, body: Value) -> Value {
        let path = extension_path(id, name);
        self.admin(reqwest::Method::PUT, &path, Some(body)).await
    }

    /// What the portal's "Reset password" leaves behind: a VMAccess extension `name` (the
    /// portal's is `enablevmaccess`) whose last run was for `opsadmin`, tagged [`PORTAL_TAG`].
    pub async fn put_portal_reset(&self, id: &VirtualMachineId, name: &str) {
        let body = json!({"settings": {"UserName": "opsadmin"}, "force_update_tag": PORTAL_TAG});
        self.put_extension(id, name, body).await;
    }

    /// An extension of another kind (Azure Monitor's agent) named `name`.
    pub async fn put_monitoring_agent(&self, id: &VirtualMachineId, name: &str) {
        let body = json!({"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorWindowsAgent", "type_handler_version": "1.0"});
        self.put_extension(id, name, body).await;
    }

    pub async fn delete_extension(&self, id: &VirtualMachineId, name: &str) {
        let path = extension_path(id, name);
        self.admin(reqwest::Method::DELETE, &path, None).await;
    }

    pub async fn add_fault(&self, fault: Value) {
        self.admin(reqwest::Method::POST, "faults", Some(fault))
            .await;
    }

    pub async fn clear_faults(&self) {
        self.admin(reqwest::Method::DELETE, "faults", None).await;
    }

    pub async fn expire_tokens(&self) {
        self.admin(reqwest::Method::POST, "tokens/expire", None)
            .await;
    }

    pub async fn set_config(&self, change: Value) {
        self.admin(reqwest::Method::POST, "config", Some(change))
            .await;
    }

    /// The emulator's log of non-admin requests.
    pub async fn requests(&self) -> Vec<Value> {
        match self.admin(reqwest::Method::GET, "requests", None).await {
            Value::Array(items) => items,
            _ => Vec::new(),
        }
    }

    /// The logged requests whose path ends with `suffix`.
    pub async fn requests_ending_with(&self, suffix: &str) -> Vec<Value> {
        let mut requests = self.requests().await;
        requests.retain(|r| r["path"].as_str().is_some_and(|p| p.ends_with(suffix)));
        requests
    }

    /// How many logged requests have this method and a path containing `fragment`.
    pub async fn count_requests(&self, method: &str, fragment: &str) -> usize {
        self.requests()
            .await
            .iter()
            .filter(|r| {
                r["method"].as_str() == Some(method)
                    && r["path"].as_str().is_some_and(|p| p.contains(fragment))
            })
            .count()
    }
}

/// A running Windows VM with a ready agent and these accounts (see the emulator's `AccountSeed`).
fn windows_seed(accounts: Value) -> Value {
    json!({"os_type": "Windows", "power_state": "running", "agent_ready": true, "accounts": accounts})
}

/// The admin API's path of a VM.
fn vm_path(id: &VirtualMachineId) -> String {
    format!(
        "vms/{}/{}/{}",
        id.subscription_id(),
        id.resource_group(),
        id.name()
    )
}

fn extension_path(id: &VirtualMachineId, name: &str) -> String {
    format!("{}/extensions/{name}", vm_path(id))
}

/// An operation context with `secs` of budget and a fresh cancel token.
pub fn ctx(secs: u64) -> OpContext {
    OpContext::new(Duration::from_secs(secs), CancellationToken::new())
}

/// Captures tracing output (all levels, all targets except the emulator's own) into a buffer.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

thread_local! {
    /// The capture this thread's events go to, if any.
    static CURRENT: std::cell::RefCell<Option<LogCapture>> = const { std::cell::RefCell::new(None) };
}

/// Routes the thread's events back to the previous capture when dropped.
pub struct CaptureGuard(Option<LogCapture>);

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// The writer of the process-wide subscriber: the current thread's capture, else nowhere.
struct ThreadCapture;

impl std::io::Write for ThreadCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CURRENT.with(|c| {
            if let Some(capture) = c.borrow_mut().as_mut() {
                let _ = capture.write(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Routes this thread's events here until the guard drops. The subscriber is process-wide
    /// and installed once: a thread-scoped one (`set_default`) races with other tests' threads
    /// caching "no interest" for the same call sites, and then captures nothing.
    pub fn install(&self) -> CaptureGuard {
        static GLOBAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let installed = GLOBAL.get_or_init(|| {
            use tracing_subscriber::layer::SubscriberExt;
            let filter = tracing_subscriber::filter::Targets::new()
                .with_default(tracing::Level::TRACE)
                .with_target("vm_emulator", tracing_subscriber::filter::LevelFilter::OFF);
            let subscriber = tracing_subscriber::registry().with(filter).with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(|| ThreadCapture),
            );
            tracing::subscriber::set_global_default(subscriber).is_ok()
        });
        assert!(installed, "another global tracing subscriber is installed");
        CaptureGuard(CURRENT.with(|c| c.replace(Some(self.clone()))))
    }

    pub fn text(&self) -> String {
        let buf = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&buf).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
