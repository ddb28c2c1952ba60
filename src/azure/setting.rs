//! [`Setting`]: the name of one setting of the Azure client, as [`AzureError::Configuration`]
//! carries it. The values themselves are in `settings.rs`.
//!
//! A leaf: it imports nothing of the Azure layer, so that `error` (which names a setting) and
//! `settings` (which returns errors) both build on it without importing each other in a circle.
//!
//! [`AzureError::Configuration`]: super::AzureError::Configuration

use std::fmt;

/// A setting of the Azure client, named in
/// [`AzureError::Configuration`](super::AzureError::Configuration). The Azure layer knows
/// no Terraform attribute or environment variable names; the provider maps each setting to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setting {
    /// [`AzureSettings::subscription_id`](super::AzureSettings::subscription_id).
    SubscriptionId,
    /// [`AzureSettings::tenant_id`](super::AzureSettings::tenant_id).
    TenantId,
    /// [`AzureSettings::client_id`](super::AzureSettings::client_id).
    ClientId,
    /// [`AzureSettings::client_secret`](super::AzureSettings::client_secret).
    ClientSecret,
    /// [`AzureSettings::client_certificate_path`](super::AzureSettings::client_certificate_path).
    ClientCertificatePath,
    /// [`AzureSettings::client_certificate_password`](super::AzureSettings::client_certificate_password).
    ClientCertificatePassword,
    /// [`AzureSettings::client_send_certificate_chain`](super::AzureSettings::client_send_certificate_chain).
    ClientSendCertificateChain,
    /// [`AzureSettings::use_oidc`](super::AzureSettings::use_oidc).
    UseOidc,
    /// [`AzureSettings::oidc_token`](super::AzureSettings::oidc_token).
    OidcToken,
    /// [`AzureSettings::oidc_token_file_path`](super::AzureSettings::oidc_token_file_path).
    OidcTokenFilePath,
    /// [`AzureSettings::oidc_request_url`](super::AzureSettings::oidc_request_url).
    OidcRequestUrl,
    /// [`AzureSettings::oidc_request_token`](super::AzureSettings::oidc_request_token).
    OidcRequestToken,
    /// [`AzureSettings::ado_pipeline_service_connection_id`](super::AzureSettings::ado_pipeline_service_connection_id).
    AdoPipelineServiceConnectionId,
    /// The Azure Pipelines job access token (`System.AccessToken`).
    SystemAccessToken,
    /// [`AzureSettings::use_msi`](super::AzureSettings::use_msi).
    UseMsi,
    /// [`AzureSettings::use_cli`](super::AzureSettings::use_cli).
    UseCli,
    /// [`AzureSettings::environment`](super::AzureSettings::environment).
    Environment,
    /// [`AzureSettings::metadata_host`](super::AzureSettings::metadata_host).
    MetadataHost,
}

impl fmt::Display for Setting {
    /// A plain-language name, for messages of the Azure layer itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Setting::SubscriptionId => "subscription ID",
            Setting::TenantId => "tenant ID",
            Setting::ClientId => "client ID",
            Setting::ClientSecret => "client secret",
            Setting::ClientCertificatePath => "client certificate path",
            Setting::ClientCertificatePassword => "client certificate password",
            Setting::ClientSendCertificateChain => "send-certificate-chain switch",
            Setting::UseOidc => "OIDC switch",
            Setting::OidcToken => "OIDC token",
            Setting::OidcTokenFilePath => "OIDC token file path",
            Setting::OidcRequestUrl => "OIDC request URL",
            Setting::OidcRequestToken => "OIDC request token",
            Setting::AdoPipelineServiceConnectionId => "Azure DevOps service connection ID",
            Setting::SystemAccessToken => "Azure Pipelines system access token",
            Setting::UseMsi => "managed identity switch",
            Setting::UseCli => "Azure CLI switch",
            Setting::Environment => "cloud environment",
            Setting::MetadataHost => "metadata host",
        })
    }
}
