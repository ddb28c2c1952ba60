//! The `vm` provider: its configuration (named and defaulted like azurerm's,
//! so existing pipelines work unchanged) and its resources.
//!
//! Configuration is only resolved and checked here; authentication happens
//! on the first Azure call, so `validate` and empty plans never touch the
//! network.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::azure::{
    ArmClient, AzureError, AzureSettings, Environment, Setting as AzureSetting, VirtualMachineId,
};
use crate::resources::vm_access_reset::VmAccessReset;
use crate::tfprotocol::{
    Attribute, Block, Diagnostic, Diagnostics, Object, Provider, Resource, Schema,
};

pub const TYPE_NAME: &str = "vm";

/// Where each setting comes from: its attribute and its environment
/// variables, in the order they are consulted.
pub const SETTINGS: &[Setting] = &[
    Setting::new(
        "subscription_id",
        Kind::String,
        &["ARM_SUBSCRIPTION_ID"],
        "The subscription of the VMs.",
    ),
    Setting::new(
        "tenant_id",
        Kind::String,
        &["ARM_TENANT_ID"],
        "The Microsoft Entra tenant to authenticate in.",
    ),
    Setting::new(
        "client_id",
        Kind::String,
        &["ARM_CLIENT_ID"],
        "The client (application) ID of the service principal or managed identity.",
    ),
    Setting::new(
        "client_secret",
        Kind::Secret,
        &["ARM_CLIENT_SECRET"],
        "The service principal's client secret.",
    ),
    Setting::new(
        "client_certificate_path",
        Kind::String,
        &["ARM_CLIENT_CERTIFICATE_PATH"],
        "Path to a PKCS#12 (.pfx) file with the service principal's certificate and private key.",
    ),
    Setting::new(
        "client_certificate_password",
        Kind::Secret,
        &["ARM_CLIENT_CERTIFICATE_PASSWORD"],
        "The password of the certificate file.",
    ),
    Setting::new(
        "use_oidc",
        Kind::Bool,
        &["ARM_USE_OIDC"],
        "Authenticate with an OpenID Connect token (workload identity federation).",
    ),
    Setting::new(
        "oidc_token",
        Kind::Secret,
        &["ARM_OIDC_TOKEN"],
        "An OIDC ID token to exchange for an Azure token.",
    ),
    Setting::new(
        "oidc_token_file_path",
        Kind::String,
        &["ARM_OIDC_TOKEN_FILE_PATH"],
        "A file holding an OIDC ID token, read at each use.",
    ),
    Setting::new(
        "oidc_request_url",
        Kind::String,
        &["ARM_OIDC_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_URL"],
        "The URL to request an OIDC token from (GitHub Actions sets it).",
    ),
    Setting::new(
        "oidc_request_token",
        Kind::Secret,
        &["ARM_OIDC_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
        "The bearer token for `oidc_request_url` (GitHub Actions sets it).",
    ),
    Setting::new(
        "ado_pipeline_service_connection_id",
        Kind::String,
        &[
            "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID",
            "ARM_OIDC_AZURE_SERVICE_CONNECTION_ID",
        ],
        "The Azure DevOps service connection to authenticate with (with `use_oidc`; needs `SYSTEM_ACCESSTOKEN` in the environment).",
    ),
    Setting::new(
        "use_msi",
        Kind::Bool,
        &["ARM_USE_MSI"],
        "Authenticate with the managed identity of the machine running Terraform.",
    ),
    Setting::new(
        "use_cli",
        Kind::Bool,
        &["ARM_USE_CLI"],
        "Authenticate with the Azure CLI's login when nothing else is configured. Defaults to `true`.",
    ),
    Setting::new(
        "environment",
        Kind::String,
        &["ARM_ENVIRONMENT"],
        "The Azure cloud: `public` (default), `usgovernment` or `china`.",
    ),
    Setting::new(
        "metadata_host",
        Kind::String,
        &["ARM_METADATA_HOSTNAME"],
        "The host of a custom cloud's metadata endpoint (Azure Stack Hub, or the bundled emulator); its endpoints replace `environment`'s.",
    ),
];

/// Azure Pipelines puts the job's access token here when a step maps `$(System.AccessToken)`.
const SYSTEM_ACCESSTOKEN: &str = "SYSTEM_ACCESSTOKEN";

/// Where the user sets an Azure client setting: its provider attribute (none for
/// `SYSTEM_ACCESSTOKEN`, which only a pipeline sets) and its environment variables. Azure errors
/// name a [`AzureSetting`]; this is how the provider's boundary names it to the user.
pub fn setting_source(setting: AzureSetting) -> (Option<&'static str>, &'static [&'static str]) {
    let name = match setting {
        AzureSetting::SubscriptionId => "subscription_id",
        AzureSetting::TenantId => "tenant_id",
        AzureSetting::ClientId => "client_id",
        AzureSetting::ClientSecret => "client_secret",
        AzureSetting::ClientCertificatePath => "client_certificate_path",
        AzureSetting::ClientCertificatePassword => "client_certificate_password",
        AzureSetting::UseOidc => "use_oidc",
        AzureSetting::OidcToken => "oidc_token",
        AzureSetting::OidcTokenFilePath => "oidc_token_file_path",
        AzureSetting::OidcRequestUrl => "oidc_request_url",
        AzureSetting::OidcRequestToken => "oidc_request_token",
        AzureSetting::AdoPipelineServiceConnectionId => "ado_pipeline_service_connection_id",
        AzureSetting::SystemAccessToken => return (None, &[SYSTEM_ACCESSTOKEN]),
        AzureSetting::UseMsi => "use_msi",
        AzureSetting::UseCli => "use_cli",
        AzureSetting::Environment => "environment",
        AzureSetting::MetadataHost => "metadata_host",
    };
    match SETTINGS.iter().find(|s| s.name == name) {
        Some(s) => (Some(s.name), s.env),
        None => (Some(name), &[]),
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    String,
    Secret,
    Bool,
}

#[derive(Debug)]
pub struct Setting {
    pub name: &'static str,
    pub env: &'static [&'static str],
    pub kind: Kind,
    pub description: &'static str,
}

impl Setting {
    const fn new(
        name: &'static str,
        kind: Kind,
        env: &'static [&'static str],
        description: &'static str,
    ) -> Setting {
        Setting {
            name,
            env,
            kind,
            description,
        }
    }

    fn attribute(&self) -> Attribute {
        let attr = match self.kind {
            Kind::String => Attribute::string(self.name),
            Kind::Secret => Attribute::string(self.name).sensitive(),
            Kind::Bool => Attribute::bool(self.name),
        };
        attr.optional().env(self.env).description(self.description)
    }
}

pub fn schema() -> Schema {
    let block = SETTINGS.iter().fold(
        Block::new(
            "Resets passwords and Remote Desktop settings of Azure Windows VMs. Authentication settings follow the azurerm \
             provider: every argument falls back to the same `ARM_*` environment variable.",
        ),
        |b, s| b.attribute(s.attribute()),
    );
    Schema { version: 0, block }
}

/// A provider setting after the configuration-then-environment fallback.
#[derive(Clone, PartialEq, Eq)]
pub enum Resolved {
    String(String),
    Bool(bool),
}

/// Settings as resolved by `configure`; secrets never appear in Debug.
#[derive(Clone, Default)]
pub struct ResolvedSettings {
    values: std::collections::BTreeMap<&'static str, Resolved>,
    /// Azure Pipelines' job token (`SYSTEM_ACCESSTOKEN`): environment only, no attribute.
    system_access_token: Option<String>,
}

impl std::fmt::Debug for ResolvedSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.values.keys()).finish()
    }
}

impl ResolvedSettings {
    pub fn string(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(Resolved::String(s)) => Some(s),
            _ => None,
        }
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.values.get(name) {
            Some(Resolved::Bool(b)) => Some(*b),
            _ => None,
        }
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// Applies the environment fallbacks and checks values that have a fixed
/// set of choices. Unknown configuration values are skipped (validate runs
/// before they are known).
pub fn resolve(
    config: &Object,
    env: impl Fn(&str) -> Option<String>,
) -> Result<ResolvedSettings, Diagnostics> {
    let mut settings = ResolvedSettings::default();
    let mut diags = Diagnostics::new();
    for s in SETTINGS {
        let from_config = match s.kind {
            Kind::Bool => config.get_bool(s.name).map(Resolved::Bool),
            _ => config
                .get_string(s.name)
                .filter(|v| !v.is_empty())
                .map(|v| Resolved::String(v.to_string())),
        };
        let from_env = || {
            s.env.iter().find_map(|var| {
                let value = env(var).filter(|v| !v.trim().is_empty())?;
                Some(match s.kind {
                    Kind::Bool => match parse_bool(&value) {
                        Some(b) => Ok(Resolved::Bool(b)),
                        None => Err(Diagnostic::error(
                            format!("Invalid {var}"),
                            format!("{var} must be true or false (it sets `{}`).", s.name),
                        )),
                    },
                    _ => Ok(Resolved::String(value)),
                })
            })
        };
        match from_config.map(Ok).or_else(from_env) {
            Some(Ok(v)) => {
                settings.values.insert(s.name, v);
            }
            Some(Err(d)) => diags.push(d),
            None => {}
        }
    }
    settings.system_access_token = env(SYSTEM_ACCESSTOKEN).filter(|v| !v.trim().is_empty());
    if let Some(Err(e)) = settings.string("environment").map(Environment::from_str) {
        diags.push(
            Diagnostic::error("Unknown Azure environment", e.to_string()).at_attr("environment"),
        );
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(settings)
    }
}

impl ResolvedSettings {
    /// The Azure client's settings. Only called once configured.
    pub fn azure(&self) -> Result<AzureSettings, AzureError> {
        let string = |n: &str| self.string(n).map(str::to_string);
        let secret = |n: &str| self.string(n).map(|s| SecretString::from(s.to_string()));
        let path = |n: &str| self.string(n).map(PathBuf::from);
        Ok(AzureSettings {
            subscription_id: string("subscription_id"),
            tenant_id: string("tenant_id"),
            client_id: string("client_id"),
            client_secret: secret("client_secret"),
            client_certificate_path: path("client_certificate_path"),
            client_certificate_password: secret("client_certificate_password"),
            use_oidc: self.bool("use_oidc").unwrap_or(false),
            oidc_token: secret("oidc_token"),
            oidc_token_file_path: path("oidc_token_file_path"),
            oidc_request_url: string("oidc_request_url"),
            oidc_request_token: secret("oidc_request_token"),
            ado_pipeline_service_connection_id: string("ado_pipeline_service_connection_id"),
            system_access_token: self
                .system_access_token
                .as_ref()
                .map(|t| SecretString::from(t.clone())),
            use_msi: self.bool("use_msi").unwrap_or(false),
            use_cli: self.bool("use_cli").unwrap_or(true),
            environment: self
                .string("environment")
                .map(Environment::from_str)
                .transpose()?
                .unwrap_or_default(),
            metadata_host: string("metadata_host"),
        })
    }
}

/// What resources share: the resolved settings once configured, one Azure
/// client (one connection pool, one token cache), per-VM locks, and the
/// token StopProvider cancels.
pub struct ProviderState {
    pub settings: OnceLock<ResolvedSettings>,
    pub stop: CancellationToken,
    client: OnceLock<ArmClient>,
    vm_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ProviderState {
    pub fn new(stop: CancellationToken) -> ProviderState {
        ProviderState {
            settings: OnceLock::new(),
            stop,
            client: OnceLock::new(),
            vm_locks: Mutex::new(HashMap::new()),
        }
    }

    /// The shared client, built on first use. Building it makes no network
    /// call; authentication happens on the first request.
    pub fn client(&self) -> Result<ArmClient, AzureError> {
        if let Some(client) = self.client.get() {
            return Ok(client.clone());
        }
        let settings = self.settings.get().ok_or_else(|| AzureError::Internal {
            detail: "the provider was used before Terraform configured it".to_string(),
        })?;
        let client = ArmClient::new(settings.azure()?)?;
        Ok(self.client.get_or_init(|| client).clone())
    }

    /// Serialises operations on one VM: it has a single VMAccess extension,
    /// and Azure rejects concurrent changes. Different VMs run in parallel.
    pub async fn lock_vm(&self, vm: &VirtualMachineId) -> tokio::sync::OwnedMutexGuard<()> {
        let key = vm.to_string().to_ascii_lowercase();
        let lock = match self.vm_locks.lock() {
            Ok(mut locks) => locks.entry(key).or_default().clone(),
            // The map holds no invariant a panic could break.
            Err(poisoned) => poisoned.into_inner().entry(key).or_default().clone(),
        };
        lock.lock_owned().await
    }
}

pub struct VmProvider {
    schema: Schema,
    resources: Vec<Arc<dyn Resource>>,
    pub state: Arc<ProviderState>,
}

impl VmProvider {
    pub fn new(stop: CancellationToken) -> VmProvider {
        let state = Arc::new(ProviderState::new(stop));
        let resources: Vec<Arc<dyn Resource>> = vec![Arc::new(VmAccessReset::new(state.clone()))];
        VmProvider {
            schema: schema(),
            resources,
            state,
        }
    }
}

#[async_trait::async_trait]
impl Provider for VmProvider {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn resources(&self) -> &[Arc<dyn Resource>] {
        &self.resources
    }

    fn validate(&self, config: &Object) -> Diagnostics {
        match resolve(config, |_| None) {
            Ok(_) => Diagnostics::new(),
            Err(d) => d,
        }
    }

    async fn configure(&self, config: &Object, terraform_version: &str) -> Diagnostics {
        match resolve(config, |k| std::env::var(k).ok()) {
            Ok(settings) => {
                tracing::debug!(terraform_version, settings = ?settings, "provider configured");
                let _ = self.state.settings.set(settings);
                Diagnostics::new()
            }
            Err(d) => d,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfprotocol::Value;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn configuration_wins_over_environment() {
        let config = Object::new().with("subscription_id", Value::string("from-config"));
        let s = resolve(
            &config,
            env(&[("ARM_SUBSCRIPTION_ID", "from-env"), ("ARM_TENANT_ID", "t")]),
        )
        .unwrap();
        assert_eq!(s.string("subscription_id"), Some("from-config"));
        assert_eq!(s.string("tenant_id"), Some("t"));
    }

    #[test]
    fn github_actions_variables_are_the_second_fallback() {
        let s = resolve(
            &Object::new(),
            env(&[
                ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://gh"),
                ("ARM_USE_OIDC", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(s.string("oidc_request_url"), Some("https://gh"));
        assert_eq!(s.bool("use_oidc"), Some(true));
        let s = resolve(
            &Object::new(),
            env(&[
                ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://gh"),
                ("ARM_OIDC_REQUEST_URL", "https://arm"),
            ]),
        )
        .unwrap();
        assert_eq!(s.string("oidc_request_url"), Some("https://arm"));
    }

    #[test]
    fn bad_values_are_named() {
        let e = resolve(&Object::new(), env(&[("ARM_USE_MSI", "maybe")])).unwrap_err();
        assert!(e.iter().any(|d| d.summary.contains("ARM_USE_MSI")));
        let config = Object::new().with("environment", Value::string("mars"));
        let e = resolve(&config, env(&[])).unwrap_err();
        assert_eq!(
            e.0[0].path,
            Some(crate::tfprotocol::AttributePath::attr("environment"))
        );
    }

    #[test]
    fn every_azure_setting_maps_to_an_attribute_or_variable() {
        use crate::azure::Setting as S;
        for s in [
            S::SubscriptionId,
            S::TenantId,
            S::ClientId,
            S::ClientSecret,
            S::ClientCertificatePath,
            S::ClientCertificatePassword,
            S::UseOidc,
            S::OidcToken,
            S::OidcTokenFilePath,
            S::OidcRequestUrl,
            S::OidcRequestToken,
            S::AdoPipelineServiceConnectionId,
            S::UseMsi,
            S::UseCli,
            S::Environment,
            S::MetadataHost,
        ] {
            let (attr, env) = setting_source(s);
            let attr = attr.unwrap_or_default();
            assert!(SETTINGS.iter().any(|x| x.name == attr), "{s:?}");
            assert!(!env.is_empty(), "{s:?}");
        }
        assert_eq!(
            setting_source(S::SystemAccessToken),
            (None, &["SYSTEM_ACCESSTOKEN"][..])
        );
        assert_eq!(
            setting_source(S::SubscriptionId),
            (Some("subscription_id"), &["ARM_SUBSCRIPTION_ID"][..])
        );
    }

    #[test]
    fn system_access_token_is_resolved_from_the_environment() {
        let s = resolve(&Object::new(), env(&[("SYSTEM_ACCESSTOKEN", "job-token")])).unwrap();
        use secrecy::ExposeSecret;
        let azure = s.azure().unwrap();
        assert_eq!(
            azure
                .system_access_token
                .as_ref()
                .map(|t| t.expose_secret().to_string()),
            Some("job-token".to_string())
        );
        assert!(!format!("{s:?}").contains("job-token"));
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let s = resolve(
            &Object::new(),
            env(&[("ARM_CLIENT_SECRET", "hunter2-secret")]),
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
