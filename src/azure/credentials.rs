//! Choosing and running the credential.
//!
//! [`CredentialPlan::choose`] validates the settings and picks one method in azurerm's order
//! (certificate → secret → OIDC → Azure Pipelines → managed identity → Azure CLI) without any I/O
//! beyond reading the environment. The `azure_identity` credential itself is built on first use,
//! because a custom cloud's authority host is only known after metadata discovery.
//!
//! [`TokenSource`] adds what `azure_identity` does not give us: one in-flight acquisition shared by
//! concurrent operations, and a way to throw a token away when ARM says it is stale (the
//! credential is rebuilt, which also empties `azure_identity`'s internal cache).
//!
//! Imports `client_certificate`, `cloud`, `error`, `setting`, `settings` and `transport`; nothing
//! of the pipeline (the pipeline's `auth` policy calls [`TokenSource`]).

use std::path::PathBuf;
use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientMethodOptions, ClientOptions, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzurePipelinesCredential,
    AzurePipelinesCredentialOptions, ClientAssertion, ClientAssertionCredential,
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use tokio::sync::Mutex;

use super::client_certificate::CertificateAssertion;
use super::cloud::CloudEndpoints;
use super::error::AzureError;
use super::setting::Setting;
use super::settings::AzureSettings;
use super::transport::{identity_transport, is_certificate_error_chain};

/// Entra's code for a client assertion signed by a key the application does not know.
const UNKNOWN_CERTIFICATE: &str = "AADSTS700027";

/// Tokens are renewed this long before they expire, so a request never leaves with a token that
/// dies in flight.
const REFRESH_EARLY: time::Duration = time::Duration::minutes(5);

/// Where an OIDC client assertion comes from.
#[derive(Clone)]
pub(crate) enum AssertionSource {
    Token(SecretString),
    File(PathBuf),
    /// GitHub Actions: `GET {url}&audience=api://AzureADTokenExchange` with the request token.
    Request {
        url: String,
        token: SecretString,
    },
}

/// The authentication method chosen from the settings.
#[derive(Clone)]
pub(crate) enum CredentialPlan {
    Certificate {
        tenant_id: String,
        client_id: String,
        path: PathBuf,
        password: Option<SecretString>,
        /// Put the file's certificate chain in each assertion (`x5c`).
        send_chain: bool,
    },
    Secret {
        tenant_id: String,
        client_id: String,
        secret: SecretString,
    },
    Oidc {
        tenant_id: String,
        client_id: String,
        source: AssertionSource,
    },
    AzurePipelines {
        tenant_id: String,
        client_id: String,
        service_connection_id: String,
        system_access_token: SecretString,
    },
    ManagedIdentity {
        client_id: Option<String>,
    },
    AzureCli {
        tenant_id: Option<String>,
    },
}

fn config_error(setting: Setting, message: &str) -> AzureError {
    AzureError::Configuration {
        setting,
        message: message.to_owned(),
    }
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_ref()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn non_empty_secret(value: &Option<SecretString>) -> Option<SecretString> {
    value
        .as_ref()
        .filter(|s| !s.expose_secret().trim().is_empty())
        .cloned()
}

impl CredentialPlan {
    /// Validates the settings and picks the authentication method.
    pub(crate) fn choose(s: &AzureSettings) -> Result<CredentialPlan, AzureError> {
        let tenant = non_empty(&s.tenant_id);
        let client = non_empty(&s.client_id);
        let needs = |what: &str| -> Result<(String, String), AzureError> {
            let t = tenant.clone().ok_or_else(|| {
                config_error(
                    Setting::TenantId,
                    &format!("a tenant ID is required to authenticate with {what}"),
                )
            })?;
            let c = client.clone().ok_or_else(|| {
                config_error(
                    Setting::ClientId,
                    &format!("a client ID is required to authenticate with {what}"),
                )
            })?;
            Ok((t, c))
        };

        let cert_path = s
            .client_certificate_path
            .clone()
            .filter(|p| !p.as_os_str().is_empty());
        let cert_password = non_empty_secret(&s.client_certificate_password);
        if cert_path.is_none() && cert_password.is_some() {
            return Err(config_error(
                Setting::ClientCertificatePassword,
                "a certificate password was given without a client certificate path",
            ));
        }
        if let Some(path) = cert_path {
            let (tenant_id, client_id) = needs("a client certificate")?;
            return Ok(CredentialPlan::Certificate {
                tenant_id,
                client_id,
                path,
                password: cert_password,
                send_chain: s.client_send_certificate_chain,
            });
        }

        if let Some(secret) = non_empty_secret(&s.client_secret) {
            let (tenant_id, client_id) = needs("a client secret")?;
            return Ok(CredentialPlan::Secret {
                tenant_id,
                client_id,
                secret,
            });
        }

        let request_url = non_empty(&s.oidc_request_url);
        let request_token = non_empty_secret(&s.oidc_request_token);
        if s.use_oidc {
            if let Some(source) = Self::assertion_source(s, request_url, request_token)? {
                let (tenant_id, client_id) = needs("OIDC")?;
                return Ok(CredentialPlan::Oidc {
                    tenant_id,
                    client_id,
                    source,
                });
            }
            if let Some(service_connection_id) = non_empty(&s.ado_pipeline_service_connection_id) {
                let (tenant_id, client_id) = needs("an Azure Pipelines service connection")?;
                let system_access_token = non_empty_secret(&s.system_access_token).ok_or_else(|| {
                    config_error(
                        Setting::SystemAccessToken,
                        "Azure Pipelines authentication with a service connection needs the job's access token; map $(System.AccessToken) into the step's environment",
                    )
                })?;
                return Ok(CredentialPlan::AzurePipelines {
                    tenant_id,
                    client_id,
                    service_connection_id,
                    system_access_token,
                });
            }
            return Err(config_error(
                Setting::UseOidc,
                "OIDC is enabled but no token source is configured: give an OIDC token, an OIDC token file path, an OIDC request URL with its request token, or an Azure DevOps service connection ID",
            ));
        }

        if s.use_msi {
            return Ok(CredentialPlan::ManagedIdentity { client_id: client });
        }
        if s.use_cli {
            return Ok(CredentialPlan::AzureCli { tenant_id: tenant });
        }
        Err(config_error(
            Setting::UseCli,
            "no authentication method is configured: give a client secret or a client certificate path, enable OIDC or managed identity, or leave Azure CLI authentication enabled",
        ))
    }

    fn assertion_source(
        s: &AzureSettings,
        request_url: Option<String>,
        request_token: Option<SecretString>,
    ) -> Result<Option<AssertionSource>, AzureError> {
        let token = non_empty_secret(&s.oidc_token);
        let file = s
            .oidc_token_file_path
            .clone()
            .filter(|p| !p.as_os_str().is_empty());
        if token.is_some() && file.is_some() {
            return Err(config_error(
                Setting::OidcTokenFilePath,
                "give either an OIDC token or an OIDC token file path, not both",
            ));
        }
        if let Some(t) = token {
            return Ok(Some(AssertionSource::Token(t)));
        }
        if let Some(f) = file {
            return Ok(Some(AssertionSource::File(f)));
        }
        match (request_url, request_token) {
            (Some(url), Some(token)) => Ok(Some(AssertionSource::Request { url, token })),
            (Some(_), None) => Err(config_error(
                Setting::OidcRequestToken,
                "an OIDC request URL is set but its request token is missing",
            )),
            (None, Some(_)) => Err(config_error(
                Setting::OidcRequestUrl,
                "an OIDC request token is set but the request URL is missing",
            )),
            (None, None) => Ok(None),
        }
    }

    /// Adds what this plan knows about a refusal: Entra's AADSTS700027 ("the certificate … is
    /// not registered on the application") for a certificate sent without its chain may mean
    /// the application trusts certificates by subject name and issuer, which needs the chain.
    fn explain(&self, err: AzureError) -> AzureError {
        match (self, err) {
            (
                CredentialPlan::Certificate {
                    send_chain: false, ..
                },
                AzureError::Authentication {
                    message,
                    hint: None,
                },
            ) if message.contains(UNKNOWN_CERTIFICATE) => AzureError::Authentication {
                message: format!(
                    "{message}\n\nIf the application trusts its certificates by subject name and issuer (SNI) \
                     rather than by registered thumbprint, Entra ID needs the certificate chain in the \
                     assertion: turn on sending the certificate chain."
                ),
                hint: Some(Setting::ClientSendCertificateChain),
            },
            (_, err) => err,
        }
    }

    /// A short name for logs.
    pub(crate) fn method(&self) -> &'static str {
        match self {
            CredentialPlan::Certificate { .. } => "client certificate",
            CredentialPlan::Secret { .. } => "client secret",
            CredentialPlan::Oidc { .. } => "OIDC",
            CredentialPlan::AzurePipelines { .. } => "Azure Pipelines",
            CredentialPlan::ManagedIdentity { .. } => "managed identity",
            CredentialPlan::AzureCli { .. } => "Azure CLI",
        }
    }

    /// Builds the `azure_identity` credential for `cloud`, sending through our shared client.
    fn build(
        &self,
        cloud: &CloudEndpoints,
        http: &reqwest::Client,
    ) -> Result<Arc<dyn TokenCredential>, AzureError> {
        let mut custom = CustomConfiguration::default();
        custom.authority_host = cloud.authority_host.clone();
        let client_options = ClientOptions {
            transport: Some(Transport::new(identity_transport(http))),
            cloud: Some(Arc::new(CloudConfiguration::Custom(custom))),
            ..Default::default()
        };
        let auth = |e: azure_core::Error| identity_error(&e);
        let cred: Arc<dyn TokenCredential> = match self {
            CredentialPlan::Certificate {
                tenant_id,
                client_id,
                path,
                password,
                send_chain,
            } => {
                let bytes = std::fs::read(path).map_err(|e| {
                    config_error(
                        Setting::ClientCertificatePath,
                        &format!("cannot read the certificate file {}: {e}", path.display()),
                    )
                })?;
                // The URL ClientAssertionCredential posts to, which the assertion's `aud` names.
                let token_url = azure_core::http::Url::parse(&cloud.authority_host)
                    .and_then(|u| u.join(&format!("/{tenant_id}/oauth2/v2.0/token")))
                    .map_err(|e| AzureError::Authentication {
                        message: format!("invalid authority host {}: {e}", cloud.authority_host),
                        hint: None,
                    })?;
                let assertion = CertificateAssertion::from_pkcs12(
                    &bytes,
                    password.as_ref().map(|p| p.expose_secret()),
                    client_id,
                    token_url.as_str(),
                    *send_chain,
                )
                .map_err(|e| {
                    config_error(
                        Setting::ClientCertificatePath,
                        &format!("cannot use the certificate {}: {e}", path.display()),
                    )
                })?;
                ClientAssertionCredential::new(
                    tenant_id.clone(),
                    client_id.clone(),
                    assertion,
                    Some(ClientAssertionCredentialOptions { client_options }),
                )
                .map_err(auth)?
            }
            CredentialPlan::Secret {
                tenant_id,
                client_id,
                secret,
            } => ClientSecretCredential::new(
                tenant_id,
                client_id.clone(),
                Secret::new(secret.expose_secret().to_owned()),
                Some(ClientSecretCredentialOptions { client_options }),
            )
            .map_err(auth)?,
            CredentialPlan::Oidc {
                tenant_id,
                client_id,
                source,
            } => ClientAssertionCredential::new(
                tenant_id.clone(),
                client_id.clone(),
                OidcAssertion {
                    source: source.clone(),
                    http: http.clone(),
                },
                Some(ClientAssertionCredentialOptions { client_options }),
            )
            .map_err(auth)?,
            CredentialPlan::AzurePipelines {
                tenant_id,
                client_id,
                service_connection_id,
                system_access_token,
            } => AzurePipelinesCredential::new(
                tenant_id.clone(),
                client_id.clone(),
                service_connection_id,
                Secret::new(system_access_token.expose_secret().to_owned()),
                Some(AzurePipelinesCredentialOptions {
                    credential_options: ClientAssertionCredentialOptions { client_options },
                }),
            )
            .map_err(auth)?,
            CredentialPlan::ManagedIdentity { client_id } => {
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    user_assigned_id: client_id.clone().map(UserAssignedId::ClientId),
                    client_options,
                }))
                .map_err(auth)?
            }
            CredentialPlan::AzureCli { tenant_id } => {
                AzureCliCredential::new(Some(AzureCliCredentialOptions {
                    tenant_id: tenant_id.clone(),
                    ..Default::default()
                }))
                .map_err(auth)?
            }
        };
        Ok(cred)
    }
}

/// Maps an `azure_identity` error: certificate trust problems are transport errors with the
/// SSL_CERT_FILE hint; everything else is an authentication failure with Entra's message (which
/// names the AADSTS code, never the secret).
fn identity_error(e: &azure_core::Error) -> AzureError {
    if is_certificate_error_chain(e) {
        return AzureError::Transport {
            message: super::transport::certificate_hint(&e.to_string()),
            sent: false,
        };
    }
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    AzureError::Authentication {
        message,
        hint: None,
    }
}

/// Supplies the OIDC client assertion, read fresh on every token request (files and GitHub
/// tokens rotate).
struct OidcAssertion {
    source: AssertionSource,
    http: reqwest::Client,
}

impl std::fmt::Debug for OidcAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OidcAssertion")
    }
}

#[async_trait::async_trait]
impl ClientAssertion for OidcAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        let err = |msg: String| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, msg)
        };
        match &self.source {
            AssertionSource::Token(t) => Ok(t.expose_secret().to_owned()),
            AssertionSource::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim().to_owned())
                .map_err(|e| {
                    err(format!(
                        "cannot read the OIDC token file {}: {e}",
                        path.display()
                    ))
                }),
            AssertionSource::Request { url, token } => {
                let sep = if url.contains('?') { '&' } else { '?' };
                let full = format!("{url}{sep}audience=api://AzureADTokenExchange");
                let resp = self
                    .http
                    .get(&full)
                    .bearer_auth(token.expose_secret())
                    .header("Accept", "application/json")
                    .timeout(std::time::Duration::from_secs(30))
                    .send()
                    .await
                    .map_err(|e| {
                        err(format!(
                            "requesting the OIDC token failed: {}",
                            super::transport::describe_reqwest_error(&e)
                        ))
                    })?;
                let status = resp.status();
                if !status.is_success() {
                    return Err(err(format!(
                        "requesting the OIDC token from oidc_request_url failed with HTTP {status}"
                    )));
                }
                #[derive(serde::Deserialize)]
                struct IdToken {
                    value: String,
                }
                let body: IdToken = resp
                    .json()
                    .await
                    .map_err(|_| err("the OIDC token response has no \"value\"".to_owned()))?;
                Ok(body.value)
            }
        }
    }
}

struct CachedToken {
    token: SecretString,
    expires_on: OffsetDateTime,
}

/// Lazily built credential plus a single-flight token cache.
pub(crate) struct TokenSource {
    plan: CredentialPlan,
    http: reqwest::Client,
    state: Mutex<TokenState>,
}

#[derive(Default)]
struct TokenState {
    credential: Option<Arc<dyn TokenCredential>>,
    cached: Option<CachedToken>,
}

impl TokenSource {
    pub(crate) fn new(plan: CredentialPlan, http: reqwest::Client) -> TokenSource {
        TokenSource {
            plan,
            http,
            state: Mutex::new(TokenState::default()),
        }
    }

    pub(crate) fn method(&self) -> &'static str {
        self.plan.method()
    }

    /// A valid token for `cloud`. The lock is held during acquisition on purpose: concurrent
    /// operations wait for the one request in flight instead of each asking Entra.
    pub(crate) async fn token(&self, cloud: &CloudEndpoints) -> Result<SecretString, AzureError> {
        let mut state = self.state.lock().await;
        if let Some(c) = &state.cached {
            // Checked: the expiry comes from the token endpoint, and `-` panics near the
            // earliest representable date.
            if c.expires_on
                .checked_sub(REFRESH_EARLY)
                .is_some_and(|t| t > OffsetDateTime::now_utc())
            {
                return Ok(c.token.clone());
            }
        }
        let credential = match &state.credential {
            Some(c) => c.clone(),
            None => {
                let c = self.plan.build(cloud, &self.http)?;
                state.credential = Some(c.clone());
                c
            }
        };
        tracing::debug!(method = self.plan.method(), scope = %cloud.token_scope, "acquiring an access token");
        let scopes = [cloud.token_scope.as_str()];
        let access = credential
            .get_token(&scopes, None)
            .await
            .map_err(|e| self.plan.explain(identity_error(&e)))?;
        let token = SecretString::from(access.token.secret().to_owned());
        tracing::debug!(expires_on = %access.expires_on, "access token acquired");
        state.cached = Some(CachedToken {
            token: token.clone(),
            expires_on: access.expires_on,
        });
        Ok(token)
    }

    /// A source that already holds `token` (unit tests of the pipeline).
    #[cfg(test)]
    pub(crate) fn with_token(token: &str) -> TokenSource {
        TokenSource {
            plan: CredentialPlan::ManagedIdentity { client_id: None },
            http: reqwest::Client::new(),
            state: Mutex::new(TokenState {
                credential: None,
                cached: Some(CachedToken {
                    token: SecretString::from(token.to_owned()),
                    expires_on: OffsetDateTime::now_utc() + time::Duration::hours(1),
                }),
            }),
        }
    }

    /// Forgets `stale` (if it is still the cached token) and the credential that issued it, so
    /// the next [`TokenSource::token`] asks Entra again.
    pub(crate) async fn invalidate(&self, stale: &SecretString) {
        let mut state = self.state.lock().await;
        let same = state
            .cached
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == stale.expose_secret());
        if same {
            tracing::debug!("dropping the cached access token after ARM rejected it");
            state.cached = None;
            state.credential = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> AzureSettings {
        AzureSettings {
            subscription_id: Some("sub".into()),
            tenant_id: Some("tenant".into()),
            client_id: Some("client".into()),
            ..Default::default()
        }
    }

    #[test]
    fn order_follows_azurerm() {
        let mut s = base();
        s.client_secret = Some(SecretString::from("x"));
        s.client_certificate_path = Some("/tmp/c.pfx".into());
        assert!(chooses(&s, |p| matches!(
            p,
            CredentialPlan::Certificate { .. }
        )));
        s.client_certificate_path = None;
        assert!(chooses(&s, |p| matches!(p, CredentialPlan::Secret { .. })));
        s.client_secret = None;
        s.use_oidc = true;
        s.oidc_token = Some(SecretString::from("jwt"));
        assert!(chooses(&s, |p| matches!(p, CredentialPlan::Oidc { .. })));
        s.use_oidc = false;
        s.use_msi = true;
        assert!(chooses(&s, |p| matches!(
            p,
            CredentialPlan::ManagedIdentity { .. }
        )));
        s.use_msi = false;
        assert!(chooses(&s, |p| matches!(
            p,
            CredentialPlan::AzureCli { .. }
        )));
        s.use_cli = false;
        assert!(matches!(
            CredentialPlan::choose(&s),
            Err(AzureError::Configuration {
                setting: Setting::UseCli,
                ..
            })
        ));
    }

    /// Whether the plan chosen for `s` is the one `want` matches.
    fn chooses(s: &AzureSettings, want: fn(&CredentialPlan) -> bool) -> bool {
        CredentialPlan::choose(s).as_ref().is_ok_and(want)
    }

    fn setting_of(s: &AzureSettings) -> Option<Setting> {
        match CredentialPlan::choose(s) {
            Err(AzureError::Configuration { setting, .. }) => Some(setting),
            _ => None,
        }
    }

    #[test]
    fn missing_and_contradictory_settings_name_the_setting() {
        let mut s = base();
        s.tenant_id = None;
        s.client_secret = Some(SecretString::from("x"));
        assert_eq!(setting_of(&s), Some(Setting::TenantId));

        let mut s = base();
        s.use_oidc = true;
        s.oidc_request_url = Some("https://example/token?x=1".into());
        assert_eq!(setting_of(&s), Some(Setting::OidcRequestToken));

        let mut s = base();
        s.use_oidc = true;
        assert_eq!(setting_of(&s), Some(Setting::UseOidc));

        let mut s = base();
        s.client_certificate_password = Some(SecretString::from("p"));
        assert_eq!(setting_of(&s), Some(Setting::ClientCertificatePassword));
    }

    /// The job access token comes from the settings (the provider reads SYSTEM_ACCESSTOKEN where
    /// it reads every other variable), never from this process's environment here.
    #[test]
    fn azure_pipelines_token_comes_from_the_settings() {
        let mut s = base();
        s.use_oidc = true;
        s.ado_pipeline_service_connection_id = Some("sc".into());
        assert_eq!(setting_of(&s), Some(Setting::SystemAccessToken));
        s.system_access_token = Some(SecretString::from("job-token"));
        assert!(chooses(&s, |p| matches!(
            p,
            CredentialPlan::AzurePipelines { .. }
        )));
    }

    /// azure_identity's own pipeline retries I/O errors for about a minute; an untrusted
    /// certificate on the token endpoint must instead fail at once, naming SSL_CERT_FILE.
    #[tokio::test]
    async fn untrusted_token_endpoint_fails_fast() {
        let emu = vm_emulator::Emulator::start(vm_emulator::EmulatorConfig::default())
            .await
            .expect("emulator");
        let c = emu.config();
        let plan = CredentialPlan::Secret {
            tenant_id: c.tenant_id.clone(),
            client_id: c.client_id.clone(),
            secret: SecretString::from(c.client_secret.clone()),
        };
        // The shared client without the emulator's CA.
        let http = crate::azure::transport::build_http_client(&[]).expect("client");
        let source = TokenSource::new(plan, http);
        let cloud = CloudEndpoints {
            resource_manager: emu.endpoint(),
            authority_host: emu.endpoint(),
            token_scope: "https://management.emulator.local/.default".into(),
        };
        let started = std::time::Instant::now();
        let err = source.token(&cloud).await.err();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        match err {
            Some(AzureError::Transport { message, .. }) => {
                assert!(message.contains("SSL_CERT_FILE"), "{message}")
            }
            other => panic!("expected a transport error, got {other:?}"),
        }
    }
}
