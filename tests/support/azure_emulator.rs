//! Shared fixture: an in-process `vm-emulator` plus helpers to build an `ArmClient` against it
//! and to drive the emulator's admin API through its typed client (seed VMs, inject faults,
//! read the request log).
//!
//! Every helper talks real HTTPS to the emulator, trusting its CA explicitly (never through the process-wide
//! SSL_CERT_FILE, so tests can run in parallel).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use terraform_provider_vm::azure::{
    ArmClient, AzureSettings, OpContext, PollPolicy, RetryPolicy, VirtualMachineId,
};
use tokio_util::sync::CancellationToken;
use vm_emulator::admin::{
    AdminClient, AdminError, ConfigChange, ExtensionPatch, ExtensionSeed, Fleet, LinuxGuestView,
    LinuxUserView, ListingChange, LoginOutcome, SshLogin, VmRef,
};
use vm_emulator::{
    AccountSeed, Emulator, EmulatorConfig, ExtensionView, FaultSpec, LinuxGuestSeed, LoggedRequest,
    LroStyle, ThrottleSettings, VmPatch, VmSeed, VmView,
};

pub use vm_emulator::LOCKED_OUT_PASSWORD;

/// The publisher of the Linux VMAccess handler.
pub const LINUX_VMACCESS_PUBLISHER: &str = "Microsoft.OSTCExtensions";

/// The type of the Linux VMAccess handler.
pub const LINUX_VMACCESS_TYPE: &str = "VMAccessForLinux";

/// The `force_update_tag` of [`AzureEmulator::put_portal_reset`]'s extension.
pub const PORTAL_TAG: &str = "portal-run-1";

/// The resource group of every seed that does not name one.
pub const RESOURCE_GROUP: &str = "rg-test";

/// An emulator started in this process, with its admin client.
pub struct AzureEmulator {
    /// The emulator.
    pub emulator: Emulator,
    /// The emulator's typed admin client. The methods below are its shorthands for tests: they
    /// take the provider's [`VirtualMachineId`] and fail the test on an admin error.
    pub admin: AdminClient,
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

    /// An emulator started with `config`.
    pub async fn start_with(config: EmulatorConfig) -> AzureEmulator {
        let emulator = Emulator::start(config).await.expect("emulator starts");
        let admin = succeeded(AdminClient::for_emulator(&emulator), "admin client");
        AzureEmulator { emulator, admin }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.emulator.endpoint()
    }

    /// The configured client's secret.
    pub fn client_secret(&self) -> &str {
        &self.emulator.config().client_secret
    }

    /// The configured subscription.
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

    /// Polls that start at 200 ms and wait at most 2 s, for short tests.
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

    /// A client for the emulator's default settings ([`Self::client_for`]).
    pub fn client(&self) -> ArmClient {
        self.client_for(self.settings())
    }

    // VMs

    /// Seeds a VM in [`RESOURCE_GROUP`].
    pub async fn seed_vm(&self, name: &str, seed: &VmSeed) -> VirtualMachineId {
        self.seed_vm_in(RESOURCE_GROUP, name, seed).await
    }

    /// Seeds a VM in `resource_group`.
    pub async fn seed_vm_in(
        &self,
        resource_group: &str,
        name: &str,
        seed: &VmSeed,
    ) -> VirtualMachineId {
        let id = VirtualMachineId::new(self.subscription_id(), resource_group, name);
        succeeded(self.admin.seed_vm(&vm_ref(&id), seed).await, "seed a VM");
        id
    }

    /// A running Windows VM with a ready agent and one administrator account.
    pub async fn seed_windows_vm(&self, name: &str) -> VirtualMachineId {
        self.seed_windows_vm_with(name, [AccountSeed::new("azureadmin", "Initial-Passw0rd!")])
            .await
    }

    /// A running Windows VM with a ready agent and these accounts.
    pub async fn seed_windows_vm_with(
        &self,
        name: &str,
        accounts: impl IntoIterator<Item = AccountSeed>,
    ) -> VirtualMachineId {
        self.seed_vm(name, &VmSeed::windows(accounts)).await
    }

    /// The VM of the README's story ([`VmSeed::locked_out`]): a running Windows VM whose
    /// administrator `opsadmin` is disabled, with a forgotten password ([`LOCKED_OUT_PASSWORD`]).
    pub async fn seed_locked_out_vm(&self, name: &str) -> VirtualMachineId {
        self.seed_locked_out_vm_in(RESOURCE_GROUP, name).await
    }

    /// [`Self::seed_locked_out_vm`] in `resource_group`.
    pub async fn seed_locked_out_vm_in(
        &self,
        resource_group: &str,
        name: &str,
    ) -> VirtualMachineId {
        self.seed_vm_in(resource_group, name, &VmSeed::locked_out())
            .await
    }

    /// Many VMs in one request.
    pub async fn seed_fleet(&self, fleet: &Fleet) {
        succeeded(self.admin.seed_fleet(fleet).await, "seed a fleet");
    }

    /// VMs per page of a VM list.
    pub async fn set_list_page_size(&self, page_size: usize) {
        let change = ListingChange {
            page_size: Some(page_size),
            ..ListingChange::default()
        };
        succeeded(
            self.admin.set_listing(&change).await,
            "change the page size",
        );
    }

    /// The VM as the admin API shows it.
    pub async fn vm_view(&self, id: &VirtualMachineId) -> VmView {
        succeeded(self.admin.vm(&vm_ref(id)).await, "read a VM")
    }

    /// Whether the guest accepts this username/password.
    pub async fn login(&self, id: &VirtualMachineId, username: &str, password: &str) -> bool {
        succeeded(
            self.admin.login(&vm_ref(id), username, password).await,
            "try a login",
        )
        .ok
    }

    /// Deletes the VM.
    pub async fn delete_vm(&self, id: &VirtualMachineId) {
        succeeded(self.admin.delete_vm(&vm_ref(id)).await, "delete a VM");
    }

    /// Out-of-band changes to the VM (power state, agent, domain controller…): `change` fills
    /// in a [`VmPatch`] whose other fields are left alone.
    pub async fn patch_vm(
        &self,
        id: &VirtualMachineId,
        change: impl FnOnce(&mut VmPatch),
    ) -> VmView {
        let mut patch = VmPatch::default();
        change(&mut patch);
        succeeded(self.admin.patch_vm(&vm_ref(id), &patch).await, "patch a VM")
    }

    // Linux guests

    /// A running Linux VM in [`RESOURCE_GROUP`] with a ready agent and `guest` inside.
    pub async fn seed_linux_vm(&self, name: &str, guest: LinuxGuestSeed) -> VirtualMachineId {
        self.seed_vm(name, &VmSeed::linux(guest)).await
    }

    /// The Linux VM's guest: users and their keys, `sshd_config`, the handler's last run.
    pub async fn linux_guest(&self, id: &VirtualMachineId) -> LinuxGuestView {
        succeeded(
            self.admin.linux_guest(&vm_ref(id)).await,
            "read a Linux guest",
        )
    }

    /// The Linux guest's user `name`, if there is one.
    pub async fn linux_user(&self, id: &VirtualMachineId, name: &str) -> Option<LinuxUserView> {
        self.linux_guest(id).await.user(name).cloned()
    }

    /// Tries an SSH login with a password: `Ok(())` if the guest lets it in, else why not
    /// (`Err("PasswordAuthentication no")`, `Err("wrong password")`, …).
    pub async fn ssh_login_password(
        &self,
        id: &VirtualMachineId,
        username: &str,
        password: &str,
    ) -> Result<(), String> {
        self.ssh_login(id, &SshLogin::password(username, password))
            .await
    }

    /// Tries an SSH login with the private half of `public_key` (an OpenSSH line): `Ok(())` if
    /// the guest lets it in, else why not (`Err("key not in authorized_keys")`, …).
    pub async fn ssh_login_key(
        &self,
        id: &VirtualMachineId,
        username: &str,
        public_key: &str,
    ) -> Result<(), String> {
        self.ssh_login(id, &SshLogin::public_key(username, public_key))
            .await
    }

    async fn ssh_login(&self, id: &VirtualMachineId, login: &SshLogin) -> Result<(), String> {
        let outcome: LoginOutcome = succeeded(
            self.admin.ssh_login(&vm_ref(id), login).await,
            "try an SSH login",
        );
        match outcome {
            LoginOutcome { ok: true, .. } => Ok(()),
            LoginOutcome { reason, .. } => Err(reason.unwrap_or_default()),
        }
    }

    /// What `az vm user update` leaves behind on a Linux VM: a succeeded `VMAccessForLinux` 1.5
    /// extension named `name` (the CLI's and the portal's is `enablevmaccess`), tagged `tag`.
    pub async fn put_linux_vmaccess(
        &self,
        id: &VirtualMachineId,
        name: &str,
        tag: &str,
    ) -> ExtensionView {
        let seed = ExtensionSeed {
            force_update_tag: Some(tag.into()),
            ..linux_vmaccess_seed()
        };
        self.put_extension(id, name, &seed).await
    }

    // Extensions

    /// Creates an extension directly, as the portal or another tool would.
    pub async fn put_extension(
        &self,
        id: &VirtualMachineId,
        name: &str,
        seed: &ExtensionSeed,
    ) -> ExtensionView {
        succeeded(
            self.admin.put_extension(&vm_ref(id), name, seed).await,
            "put an extension",
        )
    }

    /// Out-of-band changes to an extension (provisioning state, tag…): `change` fills in an
    /// [`ExtensionPatch`] whose other fields are left alone.
    pub async fn patch_extension(
        &self,
        id: &VirtualMachineId,
        name: &str,
        change: impl FnOnce(&mut ExtensionPatch),
    ) -> ExtensionView {
        let mut patch = ExtensionPatch::default();
        change(&mut patch);
        succeeded(
            self.admin.patch_extension(&vm_ref(id), name, &patch).await,
            "patch an extension",
        )
    }

    /// Deletes an extension directly, without an operation.
    pub async fn delete_extension(&self, id: &VirtualMachineId, name: &str) {
        succeeded(
            self.admin.delete_extension(&vm_ref(id), name).await,
            "delete an extension",
        );
    }

    /// What the portal's "Reset password" leaves behind: a VMAccess extension `name` (the
    /// portal's is `enablevmaccess`) whose last run was for `opsadmin`, tagged [`PORTAL_TAG`].
    pub async fn put_portal_reset(&self, id: &VirtualMachineId, name: &str) {
        let seed = ExtensionSeed {
            settings: Some(serde_json::json!({"UserName": "opsadmin"})),
            force_update_tag: Some(PORTAL_TAG.into()),
            ..ExtensionSeed::default()
        };
        self.put_extension(id, name, &seed).await;
    }

    /// An extension of another kind (Azure Monitor's agent) named `name`.
    pub async fn put_monitoring_agent(&self, id: &VirtualMachineId, name: &str) {
        let seed = ExtensionSeed::of("Microsoft.Azure.Monitor", "AzureMonitorWindowsAgent", "1.0");
        self.put_extension(id, name, &seed).await;
    }

    // Faults, tokens, settings

    /// Arms a fault.
    pub async fn add_fault(&self, fault: &FaultSpec) {
        succeeded(self.admin.add_fault(fault).await, "arm a fault");
    }

    /// Whether every armed fault has fired as often as it was armed to.
    pub async fn faults_used_up(&self) -> bool {
        succeeded(self.admin.faults().await, "list the faults").is_empty()
    }

    /// Disarms every fault.
    pub async fn clear_faults(&self) {
        succeeded(self.admin.clear_faults().await, "clear the faults");
    }

    /// Makes every access token issued so far expired.
    pub async fn expire_tokens(&self) {
        succeeded(self.admin.expire_tokens().await, "expire the tokens");
    }

    /// How long-running operations answer: `Azure-AsyncOperation` or `Location` only.
    pub async fn set_lro_style(&self, lro_style: LroStyle) {
        let change = ConfigChange {
            lro_style: Some(lro_style),
            ..ConfigChange::default()
        };
        succeeded(self.admin.set_config(&change).await, "change the LRO style");
    }

    /// Enforces ARM's and Compute's request budgets: `throttling` with `enabled` set, and
    /// fresh buckets.
    pub async fn throttle(&self, throttling: ThrottleSettings) {
        let throttling = ThrottleSettings {
            enabled: true,
            ..throttling
        };
        succeeded(
            self.admin.set_throttling(throttling).await,
            "enable throttling",
        );
    }

    // Identity

    /// A federated (workload-identity) token from the emulator's issuer, as a platform would
    /// hand one to a job (`POST /_emulator/oidc/token`). Not an admin call, so not in the admin
    /// client: fetched here over HTTPS trusting only the emulator's CA.
    pub async fn federated_token(&self) -> String {
        let ca = reqwest::Certificate::from_pem(self.emulator.ca_pem().as_bytes()).expect("CA PEM");
        let http = reqwest::Client::builder()
            .tls_certs_only([ca])
            .build()
            .expect("HTTPS client");
        let answer: serde_json::Value = http
            .post(format!("{}/_emulator/oidc/token", self.endpoint()))
            .body("{}")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("a federated token")
            .json()
            .await
            .expect("a JSON answer");
        answer["value"]
            .as_str()
            .map(str::to_owned)
            .expect("the token in `value`")
    }

    // The request log

    /// The emulator's log of non-admin requests.
    pub async fn requests(&self) -> Vec<LoggedRequest> {
        succeeded(self.admin.requests().await, "read the request log")
    }

    /// The logged requests whose path ends with `suffix`.
    pub async fn requests_ending_with(&self, suffix: &str) -> Vec<LoggedRequest> {
        let mut requests = self.requests().await;
        requests.retain(|r| r.path.ends_with(suffix));
        requests
    }

    /// Waits (polling the log) until a request with this method and a path containing
    /// `fragment` has been logged; fails the test after 30 s.
    pub async fn wait_for_request(&self, method: &str, fragment: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.count_requests(method, fragment).await == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "no {method} …{fragment}… reached the emulator within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many logged requests have this method and a path containing `fragment`.
    pub async fn count_requests(&self, method: &str, fragment: &str) -> usize {
        succeeded(
            self.admin.count_requests(method, fragment).await,
            "read the request log",
        )
    }
}

/// A succeeded `Microsoft.OSTCExtensions.VMAccessForLinux` 1.5 extension without public settings
/// (VMAccessForLinux reads only protected ones), for seeds and fleets.
pub fn linux_vmaccess_seed() -> ExtensionSeed {
    ExtensionSeed::of(LINUX_VMACCESS_PUBLISHER, LINUX_VMACCESS_TYPE, "1.5")
}

/// The answer of an admin call that must succeed: a failure fails the test, saying `what` failed.
fn succeeded<T>(answer: Result<T, AdminError>, what: &str) -> T {
    answer.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The admin API's name of a VM.
pub fn vm_ref(id: &VirtualMachineId) -> VmRef {
    VmRef::new(id.subscription_id(), id.resource_group(), id.name())
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

    /// What was captured so far.
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
