//! A typed client of the emulator's admin API, for tests and benchmarks (cargo feature
//! `client`, on by default).
//!
//! ```no_run
//! # async fn demo() -> Result<(), vm_emulator::admin::AdminError> {
//! use vm_emulator::admin::{AdminClient, VmRef};
//! use vm_emulator::{AccountSeed, Emulator, EmulatorConfig, FaultAction, FaultSpec, VmSeed};
//!
//! let emulator = Emulator::start(EmulatorConfig::default()).await.expect("emulator starts");
//! let admin = AdminClient::for_emulator(&emulator)?;
//! let vm = VmRef::new(&emulator.config().subscription_id, "rg-test", "web");
//! admin
//!     .seed_vm(&vm, &VmSeed::windows([AccountSeed::new("opsadmin", "Old-Passw0rd!")]))
//!     .await?;
//! admin
//!     .add_fault(&FaultSpec::new(FaultAction::status(429)).on("PUT", "/extensions/"))
//!     .await?;
//! // … drive the provider against `emulator.endpoint()` …
//! assert!(admin.login(&vm, "opsadmin", "New-Passw0rd!").await?.ok);
//! assert_eq!(admin.vm(&vm).await?.vmaccess_runs, 1);
//! # Ok(()) }
//! ```
//!
//! Every method returns [`AdminError`] instead of panicking: a test decides with `expect`.
//! The bodies are the admin messages (re-exported by [`crate::admin`]), the same types the
//! server decodes, so client and server cannot drift apart.

use reqwest::{Certificate, Client, Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::admin_messages::{
    ArmedFaultView, ClientRegistered, ClientRegistration, ConfigChange, Credentials,
    ExtensionPatch, ExtensionSeed, ExtensionView, FaultAdded, Fleet, FleetCreated, LinuxGuestView,
    ListingChange, ListingConfig, LoggedRequest, LoginOutcome, RuntimeConfig, ScaleSetSeed,
    ScaleSetView, SshLogin, SubscriptionChange, SubscriptionsSummary, VmPatch, VmSeed, VmView,
};
use crate::emulator::Emulator;
use crate::faults::FaultSpec;
use crate::throttle::ThrottleSettings;

/// Where a VM is: subscription, resource group and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VmRef {
    /// The subscription ID.
    pub subscription: String,
    /// The resource group's name.
    pub resource_group: String,
    /// The VM's name.
    pub name: String,
}

impl VmRef {
    /// The VM `name` in `resource_group` of `subscription`.
    pub fn new(
        subscription: impl Into<String>,
        resource_group: impl Into<String>,
        name: impl Into<String>,
    ) -> VmRef {
        VmRef {
            subscription: subscription.into(),
            resource_group: resource_group.into(),
            name: name.into(),
        }
    }
}

/// Where a scale set is: subscription, resource group and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScaleSetRef {
    /// The subscription ID.
    pub subscription_id: String,
    /// The resource group's name.
    pub resource_group: String,
    /// The scale set's name.
    pub name: String,
}

impl ScaleSetRef {
    /// The scale set `name` in `resource_group` of `subscription_id`.
    pub fn new(
        subscription_id: impl Into<String>,
        resource_group: impl Into<String>,
        name: impl Into<String>,
    ) -> ScaleSetRef {
        ScaleSetRef {
            subscription_id: subscription_id.into(),
            resource_group: resource_group.into(),
            name: name.into(),
        }
    }

    /// The scale set's ARM ID.
    pub fn arm_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }
}

/// Why an admin call failed. Each variant names the call (`PUT /_emulator/vms/…`).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The endpoint is not an http(s) URL.
    #[error("invalid emulator endpoint {endpoint:?}: {reason}")]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built (the CA did not parse, for one).
    #[error("cannot build the admin HTTP client: {0}")]
    Setup(#[source] reqwest::Error),
    /// The request got no answer.
    #[error("{call}: {source}")]
    Transport {
        /// The call, as `METHOD /path`.
        call: String,
        /// Why it got no answer.
        #[source]
        source: reqwest::Error,
    },
    /// The emulator answered with an error status; `message` is its `{"error": …}` text.
    #[error("{call} answered {status}: {message}")]
    Refused {
        /// The call, as `METHOD /path`.
        call: String,
        /// The HTTP status.
        status: u16,
        /// The emulator's error text (or the whole body).
        message: String,
    },
    /// The answer is not the expected JSON.
    #[error("{call}: unexpected answer ({source}): {body}")]
    Decode {
        /// The call, as `METHOD /path`.
        call: String,
        /// Why it did not decode.
        #[source]
        source: serde_json::Error,
        /// The body as received.
        body: String,
    },
}

/// A client of one emulator's admin API. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AdminClient {
    http: Client,
    endpoint: Url,
}

impl AdminClient {
    /// A client of the emulator at `endpoint` (`https://127.0.0.1:PORT`) trusting only the
    /// certificate authority `ca_pem`.
    pub fn new(endpoint: &str, ca_pem: &str) -> Result<AdminClient, AdminError> {
        let ca = Certificate::from_pem(ca_pem.as_bytes()).map_err(AdminError::Setup)?;
        let http = Client::builder()
            .tls_certs_only([ca])
            .build()
            .map_err(AdminError::Setup)?;
        AdminClient::with_http(http, endpoint)
    }

    /// A client of an in-process emulator.
    pub fn for_emulator(emulator: &Emulator) -> Result<AdminClient, AdminError> {
        AdminClient::new(&emulator.endpoint(), emulator.ca_pem())
    }

    /// A client sending through `http`, which must trust the emulator's CA.
    pub fn with_http(http: Client, endpoint: &str) -> Result<AdminClient, AdminError> {
        let invalid = |reason: String| AdminError::Endpoint {
            endpoint: endpoint.to_string(),
            reason,
        };
        let endpoint = Url::parse(endpoint).map_err(|e| invalid(e.to_string()))?;
        if endpoint.cannot_be_a_base() {
            return Err(invalid("not an http(s) URL".into()));
        }
        Ok(AdminClient { http, endpoint })
    }

    // VMs

    /// Creates (or replaces) a VM.
    pub async fn seed_vm(&self, vm: &VmRef, seed: &VmSeed) -> Result<VmView, AdminError> {
        self.call(Method::PUT, &vm_path(vm, &[]), Some(seed)).await
    }

    /// Creates many VMs with their extensions in one request; returns how many.
    pub async fn seed_fleet(&self, fleet: &Fleet) -> Result<usize, AdminError> {
        let created: FleetCreated = self.call(Method::POST, &["fleet"], Some(fleet)).await?;
        Ok(created.created)
    }

    /// The VM as the guest sees it: accounts, Remote Desktop, extensions, VMAccess runs.
    pub async fn vm(&self, vm: &VmRef) -> Result<VmView, AdminError> {
        self.call(Method::GET, &vm_path(vm, &[]), NO_BODY).await
    }

    /// Every VM of every subscription.
    pub async fn vms(&self) -> Result<Vec<VmView>, AdminError> {
        self.call(Method::GET, &["vms"], NO_BODY).await
    }

    /// Changes a VM out of band (power state, agent, accounts…).
    pub async fn patch_vm(&self, vm: &VmRef, patch: &VmPatch) -> Result<VmView, AdminError> {
        self.call(Method::PATCH, &vm_path(vm, &[]), Some(patch))
            .await
    }

    /// Deletes a VM (its extensions and operations go with it).
    pub async fn delete_vm(&self, vm: &VmRef) -> Result<(), AdminError> {
        self.call(Method::DELETE, &vm_path(vm, &[]), NO_BODY).await
    }

    /// Tries an RDP login on the guest.
    pub async fn login(
        &self,
        vm: &VmRef,
        username: &str,
        password: &str,
    ) -> Result<LoginOutcome, AdminError> {
        let request = Credentials {
            username: username.to_string(),
            password: password.to_string(),
        };
        self.call(Method::POST, &vm_path(vm, &["login"]), Some(&request))
            .await
    }

    /// A Linux VM's guest: users and their keys, `sshd_config`, sshd restarts, the handler's
    /// last sequence number and log.
    pub async fn linux_guest(&self, vm: &VmRef) -> Result<LinuxGuestView, AdminError> {
        self.call(Method::GET, &vm_path(vm, &["linux"]), NO_BODY)
            .await
    }

    /// Tries an SSH login on a Linux guest, with a password or a public key
    /// ([`SshLogin::password`], [`SshLogin::public_key`]).
    pub async fn ssh_login(
        &self,
        vm: &VmRef,
        login: &SshLogin,
    ) -> Result<LoginOutcome, AdminError> {
        self.call(Method::POST, &vm_path(vm, &["ssh-login"]), Some(login))
            .await
    }

    // Extensions

    /// Creates an extension directly, as the portal or another tool would have.
    pub async fn put_extension(
        &self,
        vm: &VmRef,
        name: &str,
        seed: &ExtensionSeed,
    ) -> Result<ExtensionView, AdminError> {
        self.call(Method::PUT, &vm_path(vm, &["extensions", name]), Some(seed))
            .await
    }

    /// Changes an extension out of band (provisioning state, tag, status message…).
    pub async fn patch_extension(
        &self,
        vm: &VmRef,
        name: &str,
        patch: &ExtensionPatch,
    ) -> Result<ExtensionView, AdminError> {
        let path = vm_path(vm, &["extensions", name]);
        self.call(Method::PATCH, &path, Some(patch)).await
    }

    /// Deletes an extension directly, without an operation.
    pub async fn delete_extension(&self, vm: &VmRef, name: &str) -> Result<(), AdminError> {
        let path = vm_path(vm, &["extensions", name]);
        self.call(Method::DELETE, &path, NO_BODY).await
    }

    // Scale sets

    /// Creates (or replaces, with its instances) a scale set.
    pub async fn seed_scale_set(
        &self,
        scale_set: &ScaleSetRef,
        seed: &ScaleSetSeed,
    ) -> Result<ScaleSetView, AdminError> {
        let path = scale_set_path(scale_set, &[]);
        self.call(Method::PUT, &path, Some(seed)).await
    }

    /// The scale set: its model's extensions (setting names only) and its instances.
    pub async fn scale_set(&self, scale_set: &ScaleSetRef) -> Result<ScaleSetView, AdminError> {
        let path = scale_set_path(scale_set, &[]);
        self.call(Method::GET, &path, NO_BODY).await
    }

    /// One instance as a VM; `key` is its instance ID (Uniform) or VM name (Flexible).
    pub async fn instance(&self, scale_set: &ScaleSetRef, key: &str) -> Result<VmView, AdminError> {
        let path = scale_set_path(scale_set, &["instances", key]);
        self.call(Method::GET, &path, NO_BODY).await
    }

    /// Changes an instance out of band (power state, agent, accounts…), as [`Self::patch_vm`].
    pub async fn patch_instance(
        &self,
        scale_set: &ScaleSetRef,
        key: &str,
        patch: &VmPatch,
    ) -> Result<VmView, AdminError> {
        let path = scale_set_path(scale_set, &["instances", key]);
        self.call(Method::PATCH, &path, Some(patch)).await
    }

    /// Tries an RDP login on an instance, as [`Self::login`].
    pub async fn instance_login(
        &self,
        scale_set: &ScaleSetRef,
        key: &str,
        username: &str,
        password: &str,
    ) -> Result<LoginOutcome, AdminError> {
        let request = Credentials {
            username: username.to_string(),
            password: password.to_string(),
        };
        let path = scale_set_path(scale_set, &["instances", key, "login"]);
        self.call(Method::POST, &path, Some(&request)).await
    }

    /// Tries an SSH login on a Linux instance, as [`Self::ssh_login`].
    pub async fn instance_ssh_login(
        &self,
        scale_set: &ScaleSetRef,
        key: &str,
        login: &SshLogin,
    ) -> Result<LoginOutcome, AdminError> {
        let path = scale_set_path(scale_set, &["instances", key, "ssh-login"]);
        self.call(Method::POST, &path, Some(login)).await
    }

    /// A Linux instance's guest, as [`Self::linux_guest`].
    pub async fn instance_linux_guest(
        &self,
        scale_set: &ScaleSetRef,
        key: &str,
    ) -> Result<LinuxGuestView, AdminError> {
        let path = scale_set_path(scale_set, &["instances", key, "linux"]);
        self.call(Method::GET, &path, NO_BODY).await
    }

    // Faults

    /// Arms a fault; returns its id.
    pub async fn add_fault(&self, fault: &FaultSpec) -> Result<String, AdminError> {
        let added: FaultAdded = self.call(Method::POST, &["faults"], Some(fault)).await?;
        Ok(added.id)
    }

    /// The armed faults, in the order they were added.
    pub async fn faults(&self) -> Result<Vec<ArmedFaultView>, AdminError> {
        self.call(Method::GET, &["faults"], NO_BODY).await
    }

    /// Disarms every fault.
    pub async fn clear_faults(&self) -> Result<(), AdminError> {
        self.call(Method::DELETE, &["faults"], NO_BODY).await
    }

    // Identity and subscriptions

    /// Makes every access token issued so far expired.
    pub async fn expire_tokens(&self) -> Result<(), AdminError> {
        self.call(Method::POST, &["tokens", "expire"], NO_BODY)
            .await
    }

    /// Registers (or replaces) an application's secret and/or certificate.
    pub async fn register_client(
        &self,
        registration: &ClientRegistration,
    ) -> Result<(), AdminError> {
        let _: ClientRegistered = self
            .call(Method::POST, &["clients"], Some(registration))
            .await?;
        Ok(())
    }

    /// Adds or updates a subscription and/or sets the subscription list's page size.
    pub async fn change_subscriptions(
        &self,
        change: &SubscriptionChange,
    ) -> Result<SubscriptionsSummary, AdminError> {
        self.call(Method::POST, &["subscriptions"], Some(change))
            .await
    }

    // Run-time settings

    /// The run-time settings.
    pub async fn config(&self) -> Result<RuntimeConfig, AdminError> {
        self.call(Method::GET, &["config"], NO_BODY).await
    }

    /// Changes run-time settings (operation delay, LRO style, poll `Retry-After`, throttling).
    pub async fn set_config(&self, change: &ConfigChange) -> Result<RuntimeConfig, AdminError> {
        self.call(Method::POST, &["config"], Some(change)).await
    }

    /// Replaces the throttling settings (ARM's and Compute's write and poll buckets).
    pub async fn set_throttling(
        &self,
        throttling: ThrottleSettings,
    ) -> Result<RuntimeConfig, AdminError> {
        let change = ConfigChange {
            throttling: Some(throttling),
            ..ConfigChange::default()
        };
        self.set_config(&change).await
    }

    /// The VM list's page size and Compute's read budgets.
    pub async fn listing(&self) -> Result<ListingConfig, AdminError> {
        self.call(Method::GET, &["listing"], NO_BODY).await
    }

    /// Changes the VM list's page size and Compute's read budgets.
    pub async fn set_listing(&self, change: &ListingChange) -> Result<ListingConfig, AdminError> {
        self.call(Method::POST, &["listing"], Some(change)).await
    }

    // Request log

    /// The emulated-Azure requests so far (not admin ones), secrets redacted.
    pub async fn requests(&self) -> Result<Vec<LoggedRequest>, AdminError> {
        self.call(Method::GET, &["requests"], NO_BODY).await
    }

    /// Empties the request log.
    pub async fn clear_requests(&self) -> Result<(), AdminError> {
        self.call(Method::DELETE, &["requests"], NO_BODY).await
    }

    /// How many logged requests have this method and a path containing `fragment`.
    pub async fn count_requests(&self, method: &str, fragment: &str) -> Result<usize, AdminError> {
        Ok(self
            .requests()
            .await?
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.contains(fragment))
            .count())
    }

    /// Sends one admin request under `/_emulator/` and decodes the answer (an empty answer
    /// decodes as JSON `null`, which is `()`).
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, AdminError> {
        let mut url = self.endpoint.clone();
        match url.path_segments_mut() {
            Ok(mut path) => {
                path.clear().push("_emulator").extend(segments);
            }
            Err(()) => {
                return Err(AdminError::Endpoint {
                    endpoint: self.endpoint.to_string(),
                    reason: "not an http(s) URL".into(),
                });
            }
        }
        let call = format!("{method} {}", url.path());
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |source| AdminError::Transport {
            call: call.clone(),
            source,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let text = response.text().await.map_err(transport)?;
        if !status.is_success() {
            return Err(AdminError::Refused {
                call,
                status: status.as_u16(),
                message: error_message(&text),
            });
        }
        let json = if text.trim().is_empty() {
            "null"
        } else {
            &text
        };
        serde_json::from_str(json).map_err(|source| AdminError::Decode {
            call,
            source,
            body: text,
        })
    }
}

/// The body of a request without one.
const NO_BODY: Option<&()> = None;

/// `vms/{sub}/{rg}/{name}` followed by `rest`.
fn vm_path<'a>(vm: &'a VmRef, rest: &[&'a str]) -> Vec<&'a str> {
    let mut path = vec![
        "vms",
        vm.subscription.as_str(),
        vm.resource_group.as_str(),
        vm.name.as_str(),
    ];
    path.extend_from_slice(rest);
    path
}

/// `scale-sets/{sub}/{rg}/{name}` followed by `rest`.
fn scale_set_path<'a>(scale_set: &'a ScaleSetRef, rest: &[&'a str]) -> Vec<&'a str> {
    let mut path = vec![
        "scale-sets",
        scale_set.subscription_id.as_str(),
        scale_set.resource_group.as_str(),
        scale_set.name.as_str(),
    ];
    path.extend_from_slice(rest);
    path
}

/// The `{"error": "…"}` text of an admin error, else the whole body.
fn error_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.to_string())
}
