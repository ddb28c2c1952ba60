//! Access tokens as Entra issues them: RS256-signed JWTs (v1 claims, which ARM
//! and Microsoft Graph receive whichever endpoint issued them) under a key
//! generated per start and published as a JWKS. ARM validates them like a
//! resource server does: key by `kid`, signature, issuer, audience, lifetime.
//!
//! Claims follow `shared/facts/azure-identity-and-arm-shapes.md` §3.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, PublicKeyComponents};
use aws_lc_rs::signature::{
    KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{CertificateParams, DnType, PKCS_RSA_SHA256};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::clock::unix_now;

/// Microsoft Graph's application ID, the `aud` of tokens asked for with it.
pub(crate) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Microsoft Graph's resource URI (the `microsoftGraphResourceId` of public Azure).
pub(crate) const GRAPH_RESOURCE: &str = "https://graph.microsoft.com/";

/// The resource a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    Arm,
    Graph,
}

/// The kind of principal a token is issued to; it decides `appidacr` and the
/// managed-identity claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principal {
    /// An application authenticated with a client secret.
    Secret,
    /// An application authenticated with a signed assertion: a certificate, or
    /// a federated (workload identity) token.
    Assertion,
    /// A managed identity; `mirid` is the identity's ARM ID.
    ManagedIdentity { mirid: String },
}

/// Why a presented token is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    Malformed,
    BadSignature,
    WrongIssuer(String),
    WrongAudience(String),
    NotYetValid,
    /// `exp` as a UNIX time.
    Expired(u64),
}

/// The emulator's signing key and what it publishes about it.
pub(crate) struct SigningKey {
    key: KeyPair,
    public_key_der: Vec<u8>,
    kid: String,
    /// The JWK (`kty`, `use`, `kid`, `x5t`, `n`, `e`, `x5c`).
    jwk: Value,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Errors generating the signing key (only at start-up).
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyError {
    #[error("cannot generate the token signing key: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("cannot load the token signing key: {0}")]
    Rejected(String),
}

impl SigningKey {
    /// A fresh RSA-2048 key with a self-signed certificate for `x5c`.
    pub(crate) fn generate() -> Result<SigningKey, KeyError> {
        let rcgen_key = rcgen::KeyPair::generate_for(&PKCS_RSA_SHA256)?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "vm-emulator token signing");
        let certificate = params.self_signed(&rcgen_key)?;
        let key = KeyPair::from_pkcs8(&rcgen_key.serialize_der())
            .map_err(|e| KeyError::Rejected(e.to_string()))?;
        let public = PublicKeyComponents::<Vec<u8>>::from(key.public_key());
        // Entra's kid is the base64url SHA-1 thumbprint of the certificate (27
        // characters); a truncated SHA-256 thumbprint keeps the shape.
        let digest = Sha256::digest(certificate.der());
        let kid = URL_SAFE_NO_PAD.encode(&digest[..20]);
        let jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "kid": kid,
            "x5t": kid,
            "n": URL_SAFE_NO_PAD.encode(&public.n),
            "e": URL_SAFE_NO_PAD.encode(&public.e),
            "x5c": [STANDARD.encode(certificate.der())],
        });
        Ok(SigningKey {
            public_key_der: key.public_key().as_ref().to_vec(),
            key,
            kid,
            jwk,
        })
    }

    /// The key as published, with the issuer it signs for.
    pub(crate) fn jwk(&self, issuer: &str) -> Value {
        let mut jwk = self.jwk.clone();
        jwk["issuer"] = json!(issuer);
        jwk
    }

    /// `header.claims.signature`, base64url without padding.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let header = json!({"typ": "JWT", "alg": "RS256", "x5t": self.kid, "kid": self.kid});
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        // Signing with a valid key into a buffer of the modulus length cannot
        // fail; an empty signature would only make the token invalid.
        if self
            .key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message.as_bytes(),
                &mut signature,
            )
            .is_err()
        {
            signature.clear();
        }
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Checks the signature and returns the claims.
    pub(crate) fn verify(&self, token: &str) -> Result<Value, Rejection> {
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Rejection::Malformed);
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| Rejection::Malformed)
        };
        let header: Value =
            serde_json::from_slice(&decode(header)?).map_err(|_| Rejection::Malformed)?;
        if header["alg"] != "RS256" || header["kid"] != self.kid {
            return Err(Rejection::BadSignature);
        }
        let message_len = token.len() - signature.len() - 1;
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.public_key_der)
            .verify(&token.as_bytes()[..message_len], &decode(signature)?)
            .map_err(|_| Rejection::BadSignature)?;
        serde_json::from_slice(&decode(claims)?).map_err(|_| Rejection::Malformed)
    }
}

/// A stable GUID-shaped ID derived from `seed` (object IDs of principals).
pub(crate) fn derived_guid(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// What a token is issued for.
pub(crate) struct Grant<'a> {
    pub tenant: &'a str,
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub principal: &'a Principal,
    /// The `aud` claim: the resource as the client spelled it.
    pub audience: &'a str,
    pub resource: Resource,
    pub lifetime_secs: u64,
    /// The `uti` claim, by which ARM finds the token's server-side expiry.
    pub uti: &'a str,
}

/// The v1 app-only claims Entra puts in ARM and Graph tokens.
pub(crate) fn claims(grant: &Grant<'_>) -> Value {
    let now = unix_now();
    let oid = derived_guid(&format!("{}/{}", grant.tenant, grant.client_id));
    let appidacr = match grant.principal {
        Principal::Secret => "1",
        Principal::Assertion | Principal::ManagedIdentity { .. } => "2",
    };
    let mut claims = json!({
        "aud": grant.audience,
        "iss": grant.issuer,
        "iat": now,
        "nbf": now,
        "exp": now + grant.lifetime_secs,
        "aio": URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes()),
        "appid": grant.client_id,
        "appidacr": appidacr,
        "idp": grant.issuer,
        "idtyp": "app",
        "oid": oid,
        "rh": format!("0.{}.", URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())),
        "sub": oid,
        "tid": grant.tenant,
        "uti": grant.uti,
        "ver": "1.0",
        "xms_tcdt": 1_700_000_000u64,
    });
    if grant.resource == Resource::Graph {
        claims["roles"] = json!([]);
        claims["tenant_region_scope"] = json!("WW");
    }
    if let Principal::ManagedIdentity { mirid } = grant.principal {
        // Only first-party resources such as ARM get the identity's ARM ID.
        if grant.resource == Resource::Arm {
            claims["xms_mirid"] = json!(mirid);
        }
    }
    claims
}

/// Checks issuer, audience and lifetime of verified `claims` for ARM.
pub(crate) fn check_arm_claims(
    claims: &Value,
    issuer: &str,
    audiences: &[String],
) -> Result<String, Rejection> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();
    if text("iss") != issuer {
        return Err(Rejection::WrongIssuer(text("iss").to_string()));
    }
    let audience = text("aud");
    if !audiences.iter().any(|a| a == audience) {
        return Err(Rejection::WrongAudience(audience.to_string()));
    }
    let now = unix_now();
    // Microsoft.IdentityModel's default clock skew.
    const SKEW: u64 = 300;
    let nbf = claims
        .get("nbf")
        .and_then(Value::as_u64)
        .unwrap_or(u64::MAX);
    if nbf > now + SKEW {
        return Err(Rejection::NotYetValid);
    }
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    if exp + SKEW <= now {
        return Err(Rejection::Expired(exp));
    }
    Ok(text("uti").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_tokens_verify_and_tampering_is_caught() {
        let key = SigningKey::generate().expect("key");
        let token = key.sign(&json!({"aud": "x", "n": 1}));
        assert_eq!(key.verify(&token).expect("valid")["aud"], "x");
        let (head, _) = token.rsplit_once('.').expect("three parts");
        let forged = format!(
            "{}.{}",
            head.replace(
                &URL_SAFE_NO_PAD.encode(json!({"aud": "x", "n": 1}).to_string()),
                &URL_SAFE_NO_PAD.encode(json!({"aud": "y", "n": 1}).to_string())
            ),
            token.rsplit('.').next().unwrap_or_default()
        );
        assert_eq!(key.verify(&forged), Err(Rejection::BadSignature));
        let other = SigningKey::generate().expect("key");
        assert_eq!(other.verify(&token), Err(Rejection::BadSignature));
        assert_eq!(key.verify("a.b"), Err(Rejection::Malformed));
    }

    #[test]
    fn derived_ids_are_stable_guids() {
        let a = derived_guid("t/c");
        assert_eq!(a, derived_guid("t/c"));
        assert_ne!(a, derived_guid("t/d"));
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }
}
