//! The tenant's directory as Entra ID keeps it: registered applications (client secrets and
//! certificates), the signing key, the access tokens issued (by `uti`, so they can be expired
//! early) and the federated tokens the emulator's OIDC issuer handed out. The token endpoints
//! that use it are `api::identity`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::subject_trust::TrustedSubject;
use super::tokens::{
    GRAPH_APP_ID, GRAPH_RESOURCE, Grant, Principal, Rejection, Resource, SigningKey,
    check_arm_claims, claims,
};
use crate::clock::unix_now;
use crate::config::{ARM_AUDIENCE, EmulatorConfig};

/// A registered application: what it may authenticate with.
#[derive(Debug, Default)]
pub(crate) struct Client {
    pub secrets: Vec<String>,
    /// DER certificates whose keys may sign client assertions.
    pub certificates: Vec<Vec<u8>>,
    /// Subjects and issuers of certificates that may sign client assertions sent with their
    /// chain (`x5c`); an application with any is registered for subject name + issuer
    /// authentication.
    pub trusted_subjects: Vec<TrustedSubject>,
}

#[derive(Debug)]
struct IssuedToken {
    expires_at: Instant,
}

/// The result of checking a bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    Missing,
    Invalid,
    /// Issued for another resource (the `aud` claim).
    WrongAudience(String),
    /// Issued by another tenant or authority (the `iss` claim).
    WrongIssuer(String),
    Expired,
    Valid,
}

/// Registered clients, the signing key and issued tokens.
#[derive(Debug)]
pub(crate) struct Identity {
    pub tenant: String,
    lifetime: Duration,
    /// `https://127.0.0.1:PORT`.
    endpoint: String,
    key: SigningKey,
    /// By lower-cased client ID.
    pub clients: HashMap<String, Client>,
    /// Issued access tokens by `uti`.
    tokens: HashMap<String, IssuedToken>,
    /// Federated tokens this emulator issued, and when each expires.
    pub federated: HashMap<String, Instant>,
}

impl Identity {
    pub(crate) fn new(config: &EmulatorConfig, endpoint: &str, key: SigningKey) -> Identity {
        let mut identity = Identity {
            tenant: config.tenant_id.clone(),
            lifetime: config.token_lifetime,
            endpoint: endpoint.to_string(),
            key,
            clients: HashMap::new(),
            tokens: HashMap::new(),
            federated: HashMap::new(),
        };
        identity.register(&config.client_id, Some(&config.client_secret), None, None);
        identity
    }

    /// Adds a client, or more credentials to an existing one.
    pub(crate) fn register(
        &mut self,
        client_id: &str,
        secret: Option<&str>,
        certificate_der: Option<Vec<u8>>,
        trusted_subject: Option<TrustedSubject>,
    ) {
        let client = self
            .clients
            .entry(client_id.to_ascii_lowercase())
            .or_default();
        client.secrets.extend(secret.map(str::to_string));
        client.certificates.extend(certificate_der);
        client.trusted_subjects.extend(trusted_subject);
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The issuer of v1 tokens (what ARM and Graph receive):
    /// `{authority}/{tenant}/`, as `https://sts.windows.net/{tenant}/` is for Azure.
    pub(crate) fn v1_issuer(&self) -> String {
        format!("{}/{}/", self.endpoint, self.tenant)
    }

    /// Every `aud` ARM accepts: Azure's four spellings, the metadata
    /// audience and the emulator's own Resource Manager URL.
    pub(crate) fn arm_audiences(&self) -> Vec<String> {
        arm_resources(&self.endpoint)
            .iter()
            .flat_map(|r| [r.clone(), format!("{r}/")])
            .collect()
    }

    /// The resource a `/.default` scope (or a v1 `resource`) names, and the
    /// audience to issue: the resource as the client spelled it.
    pub(crate) fn resource_for(&self, requested: &str) -> Option<(Resource, String)> {
        let normalized = requested.trim_end_matches('/');
        if arm_resources(&self.endpoint)
            .iter()
            .any(|r| r.eq_ignore_ascii_case(normalized))
        {
            return Some((Resource::Arm, requested.to_string()));
        }
        if normalized.eq_ignore_ascii_case(GRAPH_RESOURCE.trim_end_matches('/'))
            || normalized.eq_ignore_ascii_case(GRAPH_APP_ID)
        {
            return Some((Resource::Graph, requested.to_string()));
        }
        None
    }

    /// Issues an access token; returns it and its lifetime in seconds.
    pub(crate) fn issue(
        &mut self,
        client_id: &str,
        principal: &Principal,
        resource: Resource,
        audience: &str,
    ) -> (String, u64) {
        let uti = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
        let issuer = self.v1_issuer();
        let token = self.key.sign(&claims(&Grant {
            tenant: &self.tenant,
            issuer: &issuer,
            client_id,
            principal,
            audience,
            resource,
            lifetime_secs: self.lifetime.as_secs(),
            uti: &uti,
        }));
        self.tokens.insert(
            uti,
            IssuedToken {
                expires_at: Instant::now() + self.lifetime,
            },
        );
        (token, self.lifetime.as_secs().saturating_sub(1))
    }

    /// Checks a bearer token presented to ARM: signature, issuer, audience,
    /// lifetime, and that this emulator issued it and has not expired it.
    pub(crate) fn check(&self, token: Option<&str>) -> TokenCheck {
        let Some(token) = token else {
            return TokenCheck::Missing;
        };
        let checked = self
            .key
            .verify(token)
            .and_then(|claims| check_arm_claims(&claims, &self.v1_issuer(), &self.arm_audiences()));
        match checked {
            Ok(uti) => match self.tokens.get(&uti) {
                None => TokenCheck::Invalid,
                Some(t) if t.expires_at <= Instant::now() => TokenCheck::Expired,
                Some(_) => TokenCheck::Valid,
            },
            Err(Rejection::Expired(_)) => TokenCheck::Expired,
            Err(Rejection::WrongAudience(aud)) => TokenCheck::WrongAudience(aud),
            Err(Rejection::WrongIssuer(iss)) => TokenCheck::WrongIssuer(iss),
            Err(Rejection::Malformed | Rejection::BadSignature | Rejection::NotYetValid) => {
                TokenCheck::Invalid
            }
        }
    }

    /// Makes every issued access token expired.
    pub(crate) fn expire_all(&mut self) {
        let past = Instant::now();
        for token in self.tokens.values_mut() {
            token.expires_at = past;
        }
    }

    /// Issues a federated (workload identity) token the token endpoint
    /// accepts as a client assertion.
    pub(crate) fn issue_federated(
        &mut self,
        issuer: &str,
        audience: &str,
        subject: &str,
    ) -> String {
        let now = unix_now();
        let claims = json!({
            "iss": issuer, "sub": subject, "aud": audience,
            "iat": now, "nbf": now, "exp": now + self.lifetime.as_secs(),
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        let token = self.key.sign(&claims);
        self.federated
            .insert(token.clone(), Instant::now() + self.lifetime);
        token
    }
}

/// The Resource Manager resources tokens can be asked for, without trailing slash.
fn arm_resources(endpoint: &str) -> [String; 4] {
    [
        "https://management.azure.com".into(),
        "https://management.core.windows.net".into(),
        ARM_AUDIENCE.trim_end_matches('/').into(),
        endpoint.trim_end_matches('/').into(),
    ]
}
