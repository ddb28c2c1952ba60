//! The one `reqwest::Client` of the process, and how its failures are described.
//!
//! Token acquisition (`azure_identity`) and ARM calls share this client, so they share its trust
//! store and its connection pool. Trust is the platform's roots plus the certificates in the file
//! named by `SSL_CERT_FILE` (private CAs such as Azure Stack's) plus any PEM given explicitly.
//!
//! Certificate failures are never retried: a wrong CA does not fix itself, and the user should
//! learn within seconds that SSL_CERT_FILE is the knob, not after a minute of backoff.
//!
//! Imports `error` only.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use azure_core::http::{AsyncRawResponse, HttpClient, Request};

use super::error::AzureError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds the shared client. `extra_pem` holds additional PEM root certificates (tests, callers
/// that cannot use the process-global SSL_CERT_FILE).
pub(crate) fn build_http_client(extra_pem: &[String]) -> Result<reqwest::Client, AzureError> {
    let mut certs = Vec::new();
    if let Some(path) = std::env::var_os("SSL_CERT_FILE").filter(|p| !p.is_empty()) {
        let pem = std::fs::read(&path).map_err(|e| AzureError::Transport {
            message: format!(
                "cannot read the CA bundle named by SSL_CERT_FILE ({}): {e}",
                std::path::Path::new(&path).display()
            ),
            sent: false,
        })?;
        certs.extend(parse_pem(&pem, "SSL_CERT_FILE")?);
    }
    for pem in extra_pem {
        certs.extend(parse_pem(pem.as_bytes(), "the extra root certificates")?);
    }
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        // ARM does not redirect; following redirects could forward the bearer token elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .https_only(true)
        .tls_certs_merge(certs)
        .user_agent(concat!("terraform-provider-vm/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AzureError::Transport {
            message: format!(
                "cannot build the HTTPS client: {}",
                describe_reqwest_error(&e)
            ),
            sent: false,
        })
}

fn parse_pem(pem: &[u8], origin: &str) -> Result<Vec<reqwest::Certificate>, AzureError> {
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| AzureError::Transport {
        message: format!("{origin} does not contain valid PEM certificates: {e}"),
        sent: false,
    })?;
    if certs.is_empty() {
        return Err(AzureError::Transport {
            message: format!("{origin} contains no PEM certificates"),
            sent: false,
        });
    }
    Ok(certs)
}

/// Whether any error in the chain is a TLS certificate verification failure.
pub(crate) fn is_certificate_error_chain(err: &(dyn StdError + 'static)) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            if matches!(
                tls,
                rustls::Error::InvalidCertificate(_)
                    | rustls::Error::NoCertificatesPresented
                    | rustls::Error::InvalidCertRevocationList(_)
            ) {
                return true;
            }
        }
        if e.downcast_ref::<CertificateTrustError>().is_some() {
            return true;
        }
        let text = e.to_string();
        if text.contains("invalid peer certificate") || text.contains("UnknownIssuer") {
            return true;
        }
        current = e.source();
    }
    false
}

/// The message for a certificate failure: what happened and which knob fixes it.
pub(crate) fn certificate_hint(detail: &str) -> String {
    format!(
        "the server's TLS certificate is not trusted ({detail}). If Azure is reached through a private CA (Azure Stack, a TLS-inspecting proxy), set SSL_CERT_FILE to a PEM file containing that CA"
    )
}

/// The whole error chain in one line (reqwest's top-level text alone says little).
pub(crate) fn describe_reqwest_error(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if parts.last().is_none_or(|l| !l.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// Marker error for the identity pipeline: azure_core retries `Io`/`Connection` errors, so a
/// certificate failure is reported with kind `Other` and this type as its source.
#[derive(Debug)]
struct CertificateTrustError(String);

impl std::fmt::Display for CertificateTrustError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for CertificateTrustError {}

/// The shared client as `azure_identity`'s transport, with certificate errors made final.
#[derive(Debug, Clone)]
pub(crate) struct IdentityTransport {
    client: reqwest::Client,
}

impl IdentityTransport {
    pub(crate) fn new(client: reqwest::Client) -> IdentityTransport {
        IdentityTransport { client }
    }
}

#[async_trait::async_trait]
impl HttpClient for IdentityTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        match HttpClient::execute_request(&self.client, request).await {
            Ok(r) => Ok(r),
            Err(e) if is_certificate_error_chain(&e) => {
                let msg = certificate_hint(&chain_text(&e));
                Err(azure_core::Error::with_error(
                    azure_core::error::ErrorKind::Other,
                    CertificateTrustError(msg.clone()),
                    msg,
                ))
            }
            Err(e) => Err(e),
        }
    }
}

fn chain_text(e: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.join(": ")
}

/// The shared client wrapped as `azure_identity`'s transport (see [`IdentityTransport`]).
pub(crate) fn identity_transport(client: &reqwest::Client) -> Arc<dyn HttpClient> {
    Arc::new(IdentityTransport::new(client.clone()))
}
