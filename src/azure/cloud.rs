//! Cloud endpoints: the ARM endpoint, the Entra authority host and the token scope.
//!
//! The three well-known clouds are constants. A custom cloud (Azure Stack, the emulator) is
//! discovered from `https://{metadata_host}/metadata/endpoints`, lazily on the first operation so
//! that building the client makes no network call.
//!
//! Imports `error`, `setting` and `settings` only.

use serde::Deserialize;

use super::error::AzureError;
use super::setting::Setting;
use super::settings::Environment;

/// Metadata API version understood by ARM and Azure Stack Hub.
pub(crate) const METADATA_API_VERSION: &str = "2022-09-01";

/// Where to send ARM requests and how to get tokens for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CloudEndpoints {
    /// e.g. `https://management.azure.com` (no trailing slash).
    pub(crate) resource_manager: String,
    /// e.g. `https://login.microsoftonline.com` (no trailing slash).
    pub(crate) authority_host: String,
    /// `{audience without its trailing slash}/.default`, e.g.
    /// `https://management.core.windows.net/.default` (never a doubled slash).
    pub(crate) token_scope: String,
}

impl CloudEndpoints {
    fn new(resource_manager: &str, authority_host: &str, audience: &str) -> CloudEndpoints {
        CloudEndpoints {
            resource_manager: resource_manager.trim_end_matches('/').to_owned(),
            authority_host: authority_host.trim_end_matches('/').to_owned(),
            token_scope: scope_for_audience(audience),
        }
    }

    /// The built-in endpoints of a well-known cloud.
    pub(crate) fn for_environment(env: Environment) -> CloudEndpoints {
        match env {
            Environment::Public => CloudEndpoints::new(
                "https://management.azure.com",
                "https://login.microsoftonline.com",
                "https://management.core.windows.net/",
            ),
            Environment::UsGovernment => CloudEndpoints::new(
                "https://management.usgovcloudapi.net",
                "https://login.microsoftonline.us",
                "https://management.core.usgovcloudapi.net/",
            ),
            Environment::China => CloudEndpoints::new(
                "https://management.chinacloudapi.cn",
                "https://login.chinacloudapi.cn",
                "https://management.core.chinacloudapi.cn/",
            ),
        }
    }

    /// Decodes the metadata endpoint's answer. Older hosts return an array of clouds; the first
    /// entry is the one the host describes.
    pub(crate) fn from_metadata(body: &[u8]) -> Result<CloudEndpoints, AzureError> {
        let invalid = |detail: String| AzureError::Configuration {
            setting: Setting::MetadataHost,
            message: format!("the metadata endpoint returned an unusable document: {detail}"),
        };
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| invalid(e.to_string()))?;
        let doc = match value {
            serde_json::Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            other => other,
        };
        let meta: Metadata = serde_json::from_value(doc).map_err(|e| invalid(e.to_string()))?;
        let audience = meta
            .authentication
            .audiences
            .first()
            .ok_or_else(|| invalid("authentication.audiences is empty".into()))?;
        if meta.resource_manager.is_empty() || meta.authentication.login_endpoint.is_empty() {
            return Err(invalid(
                "resourceManager or authentication.loginEndpoint is empty".into(),
            ));
        }
        Ok(CloudEndpoints::new(
            &meta.resource_manager,
            &meta.authentication.login_endpoint,
            audience,
        ))
    }
}

/// `{audience}/.default` without a doubled slash.
pub(crate) fn scope_for_audience(audience: &str) -> String {
    format!("{}/.default", audience.trim_end_matches('/'))
}

/// The metadata URL for a host given as `host[:port]` (a scheme, if present, is ignored:
/// metadata is only served over HTTPS).
pub(crate) fn metadata_url(metadata_host: &str) -> String {
    let host = metadata_host
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    format!("https://{host}/metadata/endpoints?api-version={METADATA_API_VERSION}")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    resource_manager: String,
    authentication: MetadataAuthentication,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetadataAuthentication {
    #[serde(default)]
    login_endpoint: String,
    #[serde(default)]
    audiences: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_document_gives_endpoints_and_scope() {
        let body = br#"{"name":"Custom","resourceManager":"https://arm.local:8443/","authentication":{"loginEndpoint":"https://login.local/","audiences":["https://management.local/","x"]}}"#;
        let c = CloudEndpoints::from_metadata(body).expect("valid");
        assert_eq!(c.resource_manager, "https://arm.local:8443");
        assert_eq!(c.authority_host, "https://login.local");
        assert_eq!(c.token_scope, "https://management.local/.default");
        let arr = format!("[{}]", String::from_utf8_lossy(body));
        assert_eq!(CloudEndpoints::from_metadata(arr.as_bytes()).ok(), Some(c));
        assert!(CloudEndpoints::from_metadata(b"{}").is_err());
    }

    #[test]
    fn well_known_clouds() {
        let p = CloudEndpoints::for_environment(Environment::Public);
        assert_eq!(
            p.token_scope,
            "https://management.core.windows.net/.default"
        );
        assert_eq!(
            metadata_url("127.0.0.1:8443/"),
            "https://127.0.0.1:8443/metadata/endpoints?api-version=2022-09-01"
        );
    }
}
