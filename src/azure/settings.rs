//! Provider settings as the Azure layer receives them.
//!
//! The provider resolves Terraform configuration and `ARM_*` environment fallbacks before it
//! builds [`AzureSettings`]; this layer only validates them (see `credentials.rs`). The secrets
//! are `SecretString`s so that `Debug` and logs never show them.
//!
//! Imports `error` and `setting` only.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use secrecy::SecretString;

use super::error::AzureError;
use super::setting::Setting;

/// The Azure cloud to talk to when no `metadata_host` is given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Environment {
    /// Azure public cloud.
    #[default]
    Public,
    /// Azure Government (US).
    UsGovernment,
    /// Azure operated by 21Vianet (China).
    China,
}

impl FromStr for Environment {
    type Err = AzureError;

    /// Accepts azurerm's names (`public`, `usgovernment`, `china`), case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "public" | "azurecloud" => Ok(Environment::Public),
            "usgovernment" | "azureusgovernment" | "usgovernmentcloud" => {
                Ok(Environment::UsGovernment)
            }
            "china" | "azurechinacloud" => Ok(Environment::China),
            other => Err(AzureError::Configuration {
                setting: Setting::Environment,
                message: format!(
                    "unknown environment {other:?}; use \"public\", \"usgovernment\" or \"china\", or set a metadata host for a custom cloud"
                ),
            }),
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Environment::Public => "public",
            Environment::UsGovernment => "usgovernment",
            Environment::China => "china",
        })
    }
}

/// Already-resolved provider settings.
#[derive(Debug, Clone)]
pub struct AzureSettings {
    /// The subscription ARM requests go to.
    pub subscription_id: Option<String>,
    /// The Entra tenant that issues tokens.
    pub tenant_id: Option<String>,
    /// The application (client) ID of a service principal or user-assigned identity.
    pub client_id: Option<String>,
    /// A service principal's client secret.
    pub client_secret: Option<SecretString>,
    /// A PKCS#12 file with a service principal's certificate and key.
    pub client_certificate_path: Option<PathBuf>,
    /// The password of that file.
    pub client_certificate_password: Option<SecretString>,
    /// Send that file's certificate chain (`x5c`) in each client assertion, for subject name and
    /// issuer authentication.
    pub client_send_certificate_chain: bool,
    /// Exchange an OpenID Connect token (workload identity federation).
    pub use_oidc: bool,
    /// The OIDC token itself.
    pub oidc_token: Option<SecretString>,
    /// A file holding the OIDC token, read at each use.
    pub oidc_token_file_path: Option<PathBuf>,
    /// Where to request an OIDC token (GitHub Actions, Azure Pipelines).
    pub oidc_request_url: Option<String>,
    /// The bearer token for that request.
    pub oidc_request_token: Option<SecretString>,
    /// The Azure Pipelines service connection to request the token for.
    pub ado_pipeline_service_connection_id: Option<String>,
    /// Azure Pipelines' job access token, for the service-connection exchange.
    pub system_access_token: Option<SecretString>,
    /// Use the managed identity of the machine.
    pub use_msi: bool,
    /// Use the Azure CLI's login.
    pub use_cli: bool,
    /// The cloud, when `metadata_host` is not set.
    pub environment: Environment,
    /// A custom cloud's metadata host, whose endpoints replace the environment's.
    pub metadata_host: Option<String>,
}

impl Default for AzureSettings {
    /// Nothing set except what azurerm enables by default: Azure CLI authentication on the
    /// public cloud.
    fn default() -> Self {
        AzureSettings {
            subscription_id: None,
            tenant_id: None,
            client_id: None,
            client_secret: None,
            client_certificate_path: None,
            client_certificate_password: None,
            client_send_certificate_chain: false,
            use_oidc: false,
            oidc_token: None,
            oidc_token_file_path: None,
            oidc_request_url: None,
            oidc_request_token: None,
            ado_pipeline_service_connection_id: None,
            system_access_token: None,
            use_msi: false,
            use_cli: true,
            environment: Environment::Public,
            metadata_host: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn debug_never_shows_secrets() {
        let s = AzureSettings {
            client_secret: Some(SecretString::from("s3cr3t-value")),
            oidc_token: Some(SecretString::from("jwt-value")),
            ..Default::default()
        };
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("s3cr3t-value") && !dbg.contains("jwt-value"),
            "{dbg}"
        );
    }

    #[test]
    fn environment_names() {
        assert_eq!(
            "USGovernment".parse::<Environment>().ok(),
            Some(Environment::UsGovernment)
        );
        assert_eq!(
            "china".parse::<Environment>().ok(),
            Some(Environment::China)
        );
        assert!("german".parse::<Environment>().is_err());
    }
}
