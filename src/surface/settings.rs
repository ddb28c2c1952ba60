//! The provider's settings table: each setting's attribute, its environment variables (in the
//! order they are consulted), the Azure client setting it is, and how its value fills the Azure
//! layer's [`AzureSettings`]. Both directions read this one table: the provider resolves
//! configuration through it, and diagnostics name the attribute of an [`AzureSetting`] an Azure
//! error is about.

use std::path::PathBuf;

use secrecy::SecretString;

use crate::azure::{AzureError, AzureSettings, Setting as AzureSetting};
use crate::tfprotocol::Attribute;

/// One provider argument.
#[derive(Debug)]
pub struct Setting {
    /// The Terraform argument.
    pub name: &'static str,
    /// The environment variables read when the argument is not set, in order.
    pub env: &'static [&'static str],
    pub(crate) description: &'static str,
    /// The Azure client setting this argument is.
    pub(crate) azure: AzureSetting,
    pub(crate) fill: Fill,
}

/// How a value lands in [`AzureSettings`]; also decides the attribute's type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fill {
    Text(fn(&mut AzureSettings, String)),
    /// Text with a fixed set of choices: `Err` explains the choices under `summary`.
    Choice {
        summary: &'static str,
        fill: fn(&mut AzureSettings, &str) -> Result<(), String>,
    },
    /// Sensitive in the schema, a `SecretString` from then on.
    Secret(fn(&mut AzureSettings, SecretString)),
    Flag(fn(&mut AzureSettings, bool)),
}

impl Setting {
    pub(crate) fn attribute(&self) -> Attribute {
        let attr = match self.fill {
            Fill::Text(_) | Fill::Choice { .. } => Attribute::string(self.name),
            Fill::Secret(_) => Attribute::string(self.name).sensitive(),
            Fill::Flag(_) => Attribute::bool(self.name),
        };
        attr.optional().env(self.env).description(self.description)
    }
}

const fn setting(
    name: &'static str,
    azure: AzureSetting,
    fill: Fill,
    env: &'static [&'static str],
    description: &'static str,
) -> Setting {
    Setting {
        name,
        env,
        description,
        azure,
        fill,
    }
}

fn environment(s: &mut AzureSettings, text: &str) -> Result<(), String> {
    s.environment = text.parse().map_err(|e: AzureError| e.to_string())?;
    Ok(())
}

/// Every provider argument, in schema order.
pub const SETTINGS: &[Setting] = &[
    setting(
        "subscription_id",
        AzureSetting::SubscriptionId,
        Fill::Text(|s, v| s.subscription_id = Some(v)),
        &["ARM_SUBSCRIPTION_ID"],
        "The subscription of the VMs.",
    ),
    setting(
        "tenant_id",
        AzureSetting::TenantId,
        Fill::Text(|s, v| s.tenant_id = Some(v)),
        &["ARM_TENANT_ID"],
        "The Microsoft Entra tenant to authenticate in.",
    ),
    setting(
        "client_id",
        AzureSetting::ClientId,
        Fill::Text(|s, v| s.client_id = Some(v)),
        &["ARM_CLIENT_ID"],
        "The client (application) ID of the service principal or managed identity.",
    ),
    setting(
        "client_secret",
        AzureSetting::ClientSecret,
        Fill::Secret(|s, v| s.client_secret = Some(v)),
        &["ARM_CLIENT_SECRET"],
        "The service principal's client secret.",
    ),
    setting(
        "client_certificate_path",
        AzureSetting::ClientCertificatePath,
        Fill::Text(|s, v| s.client_certificate_path = Some(PathBuf::from(v))),
        &["ARM_CLIENT_CERTIFICATE_PATH"],
        "Path to a PKCS#12 (.pfx) file with the service principal's certificate and private key.",
    ),
    setting(
        "client_certificate_password",
        AzureSetting::ClientCertificatePassword,
        Fill::Secret(|s, v| s.client_certificate_password = Some(v)),
        &["ARM_CLIENT_CERTIFICATE_PASSWORD"],
        "The password of the certificate file.",
    ),
    setting(
        "client_send_certificate_chain",
        AzureSetting::ClientSendCertificateChain,
        Fill::Flag(|s, v| s.client_send_certificate_chain = v),
        &[
            "ARM_CLIENT_SEND_CERTIFICATE_CHAIN",
            "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
        ],
        "Send the certificate chain of `client_certificate_path` (the `x5c` header) with each token request, as subject name and issuer (SNI) authentication needs. Defaults to `false`.",
    ),
    setting(
        "use_oidc",
        AzureSetting::UseOidc,
        Fill::Flag(|s, v| s.use_oidc = v),
        &["ARM_USE_OIDC"],
        "Authenticate with an OpenID Connect token (workload identity federation).",
    ),
    setting(
        "oidc_token",
        AzureSetting::OidcToken,
        Fill::Secret(|s, v| s.oidc_token = Some(v)),
        &["ARM_OIDC_TOKEN"],
        "An OIDC ID token to exchange for an Azure token.",
    ),
    setting(
        "oidc_token_file_path",
        AzureSetting::OidcTokenFilePath,
        Fill::Text(|s, v| s.oidc_token_file_path = Some(PathBuf::from(v))),
        &["ARM_OIDC_TOKEN_FILE_PATH"],
        "A file holding an OIDC ID token, read at each use.",
    ),
    setting(
        "oidc_request_url",
        AzureSetting::OidcRequestUrl,
        Fill::Text(|s, v| s.oidc_request_url = Some(v)),
        &["ARM_OIDC_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_URL"],
        "The URL to request an OIDC token from (GitHub Actions sets it).",
    ),
    setting(
        "oidc_request_token",
        AzureSetting::OidcRequestToken,
        Fill::Secret(|s, v| s.oidc_request_token = Some(v)),
        &["ARM_OIDC_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
        "The bearer token for `oidc_request_url` (GitHub Actions sets it).",
    ),
    setting(
        "ado_pipeline_service_connection_id",
        AzureSetting::AdoPipelineServiceConnectionId,
        Fill::Text(|s, v| s.ado_pipeline_service_connection_id = Some(v)),
        &[
            "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID",
            "ARM_OIDC_AZURE_SERVICE_CONNECTION_ID",
        ],
        "The Azure DevOps service connection to authenticate with (with `use_oidc`; needs `SYSTEM_ACCESSTOKEN` in the environment).",
    ),
    setting(
        "use_msi",
        AzureSetting::UseMsi,
        Fill::Flag(|s, v| s.use_msi = v),
        &["ARM_USE_MSI"],
        "Authenticate with the managed identity of the machine running Terraform.",
    ),
    setting(
        "use_cli",
        AzureSetting::UseCli,
        Fill::Flag(|s, v| s.use_cli = v),
        &["ARM_USE_CLI"],
        "Authenticate with the Azure CLI's login when nothing else is configured. Defaults to `true`.",
    ),
    setting(
        "environment",
        AzureSetting::Environment,
        Fill::Choice {
            summary: "Unknown Azure environment",
            fill: environment,
        },
        &["ARM_ENVIRONMENT"],
        "The Azure cloud: `public` (default), `usgovernment` or `china`.",
    ),
    setting(
        "metadata_host",
        AzureSetting::MetadataHost,
        Fill::Text(|s, v| s.metadata_host = Some(v)),
        &["ARM_METADATA_HOSTNAME"],
        "The host of a custom cloud's metadata endpoint (Azure Stack Hub, or the bundled emulator); its endpoints replace `environment`'s.",
    ),
];

/// Azure Pipelines puts the job's access token here when a step maps `$(System.AccessToken)`.
pub(crate) const SYSTEM_ACCESSTOKEN: &str = "SYSTEM_ACCESSTOKEN";

/// Where the user sets an Azure client setting: its provider attribute (none for
/// `SYSTEM_ACCESSTOKEN`, which only a pipeline sets) and its environment variables. Azure errors
/// name an [`AzureSetting`]; this is how a diagnostic names it to the user.
pub(crate) fn setting_source(
    setting: AzureSetting,
) -> (Option<&'static str>, &'static [&'static str]) {
    if setting == AzureSetting::SystemAccessToken {
        return (None, &[SYSTEM_ACCESSTOKEN]);
    }
    // Every other setting has a row (tested below).
    SETTINGS
        .iter()
        .find(|s| s.azure == setting)
        .map_or((None, &[]), |s| (Some(s.name), s.env))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::Environment;

    #[test]
    fn every_azure_setting_maps_to_an_attribute_or_variable() {
        use AzureSetting as S;
        for s in [
            S::SubscriptionId,
            S::TenantId,
            S::ClientId,
            S::ClientSecret,
            S::ClientCertificatePath,
            S::ClientCertificatePassword,
            S::ClientSendCertificateChain,
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
    fn environment_default_is_public() {
        assert_eq!(AzureSettings::default().environment, Environment::Public);
        let mut s = AzureSettings::default();
        assert!(environment(&mut s, "china").is_ok());
        assert_eq!(s.environment, Environment::China);
        assert!(environment(&mut s, "mars").is_err());
    }
}
