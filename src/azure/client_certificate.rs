//! Client-certificate authentication without OpenSSL.
//!
//! `azure_identity`'s own certificate credential links OpenSSL, which a self-contained static
//! binary cannot carry. Instead the PKCS#12 (`.pfx`) file is opened by `p12-keystore` (pure Rust:
//! PBES2/AES as written by OpenSSL 3 and current Windows, and the legacy 3DES and RC2-40 schemes
//! of older exports), and the client assertion is signed with aws-lc — the library that already
//! does TLS — then handed to `azure_identity`'s [`ClientAssertionCredential`] like any other
//! assertion.
//!
//! The assertion follows Entra ID's certificate-credential format: header `alg` `PS256` with the
//! certificate's SHA-256 thumbprint in `x5t#S256`; claims `aud` (the v2.0 token endpoint), `iss`
//! and `sub` (the client ID), `jti`, `nbf`, `iat` and `exp` (ten minutes).
//!
//! When asked to send the certificate chain (Microsoft's SDKs' `SendCertificateChain`,
//! `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN`), the header also carries `x5c`: the PKCS#12 file's
//! chain, the key's own certificate first, then its issuer and so on up, each as standard (not
//! URL-safe) base64 of its DER (RFC 7515 §4.1.6). Entra needs it for applications that trust a
//! certificate by its subject name and issuer ("SNI") instead of by a registered thumbprint.
//!
//! [`ClientAssertionCredential`]: azure_identity::ClientAssertionCredential
//!
//! A leaf: imports nothing of the Azure layer.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PSS_SHA256, RsaKeyPair};
use azure_core::http::ClientMethodOptions;
use azure_identity::ClientAssertion;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p12_keystore::{KeyStore, Pkcs12ImportPolicy};

/// How long a signed assertion is valid (Entra accepts up to a day; MSAL uses ten minutes).
const ASSERTION_LIFETIME_SECS: u64 = 600;

/// Why a certificate file cannot be used. The text never contains the password.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CertificateError {
    #[error(
        "cannot open the PKCS#12 file: {0} (is client_certificate_password right, and is the file a PFX/PKCS#12 file?)"
    )]
    Open(p12_keystore::error::Error),
    #[error("the PKCS#12 file holds no private key together with its certificate")]
    NoKeyWithCertificate,
    #[error(
        "the certificate's private key is not a usable RSA key ({0}); Entra ID accepts RSA keys of 2048 bits or more"
    )]
    NotRsa(String),
}

/// Signs client assertions with the key of one PKCS#12 file.
pub(crate) struct CertificateAssertion {
    key: RsaKeyPair,
    rng: SystemRandom,
    /// The encoded JWT header: the same for every assertion.
    header: String,
    client_id: String,
    token_url: String,
}

impl std::fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAssertion")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl CertificateAssertion {
    /// Opens `pfx` (a PKCS#12 file's bytes; no password means the empty one) for `client_id`,
    /// whose assertions go to `token_url` (`{authority}/{tenant}/oauth2/v2.0/token`). With
    /// `send_chain`, every assertion's header carries the file's certificate chain in `x5c`.
    pub(crate) fn from_pkcs12(
        pfx: &[u8],
        password: Option<&str>,
        client_id: &str,
        token_url: &str,
        send_chain: bool,
    ) -> Result<CertificateAssertion, CertificateError> {
        let store = KeyStore::from_pkcs12(pfx, password.unwrap_or(""), Pkcs12ImportPolicy::Strict)
            .map_err(CertificateError::Open)?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or(CertificateError::NoKeyWithCertificate)?;
        let leaf = chain
            .certs()
            .first()
            .ok_or(CertificateError::NoKeyWithCertificate)?;
        let key = RsaKeyPair::from_pkcs8(chain.key().as_der())
            .map_err(|e| CertificateError::NotRsa(e.to_string()))?;
        let thumbprint = URL_SAFE_NO_PAD.encode(digest(&SHA256, leaf.as_der()));
        let mut header = serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t#S256": thumbprint});
        if send_chain {
            // p12-keystore orders the chain leaf first, each certificate followed by its issuer.
            let x5c: Vec<String> = chain
                .certs()
                .iter()
                .map(|c| STANDARD.encode(c.as_der()))
                .collect();
            header["x5c"] = x5c.into();
        }
        Ok(CertificateAssertion {
            key,
            rng: SystemRandom::new(),
            header: URL_SAFE_NO_PAD.encode(header.to_string()),
            client_id: client_id.to_owned(),
            token_url: token_url.to_owned(),
        })
    }

    /// A freshly signed assertion, valid from now for [`ASSERTION_LIFETIME_SECS`].
    pub(crate) fn sign(&self, now: SystemTime) -> Result<String, aws_lc_rs::error::Unspecified> {
        let now = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = serde_json::json!({
            "aud": self.token_url,
            "iss": self.client_id,
            "sub": self.client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            self.header,
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key.sign(
            &RSA_PSS_SHA256,
            &self.rng,
            signing_input.as_bytes(),
            &mut signature,
        )?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

#[async_trait::async_trait]
impl ClientAssertion for CertificateAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        self.sign(SystemTime::now()).map_err(|_| {
            azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                "signing the client assertion with the certificate's key failed",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{RSA_PSS_2048_8192_SHA256, UnparsedPublicKey};
    use openssl::nid::Nid;

    const URL: &str = "https://login.local/tenant/oauth2/v2.0/token";

    /// A PFX made by OpenSSL with the given key/certificate encryption (None: OpenSSL 3's default,
    /// PBES2 with AES-256-CBC), plus the certificate's DER.
    /// A fresh self-signed certificate and key in a PFX encrypted with `password`, the
    /// builder's algorithms set by `configure`; with the certificate and the public key (DER).
    fn pfx_with(
        password: &str,
        configure: impl FnOnce(&mut openssl::pkcs12::Pkcs12Builder),
    ) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        use openssl::{asn1::Asn1Time, hash::MessageDigest, pkey::PKey, rsa::Rsa, x509};
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "principal").unwrap();
        let name = name.build();
        let mut cert = x509::X509Builder::new().unwrap();
        cert.set_version(2).unwrap();
        cert.set_subject_name(&name).unwrap();
        cert.set_issuer_name(&name).unwrap();
        cert.set_pubkey(&key).unwrap();
        cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        cert.set_not_after(&Asn1Time::days_from_now(2).unwrap())
            .unwrap();
        cert.sign(&key, MessageDigest::sha256()).unwrap();
        let cert = cert.build();
        let mut builder = openssl::pkcs12::Pkcs12::builder();
        builder.name("principal").pkey(&key).cert(&cert);
        configure(&mut builder);
        let der = builder.build2(password).unwrap().to_der().unwrap();
        let spki = key.rsa().unwrap().public_key_to_der_pkcs1().unwrap();
        (der, cert.to_der().unwrap(), spki)
    }

    /// As [`pfx_with`], with `alg` (when given) for both the key and the certificates.
    fn pfx(password: &str, alg: Option<Nid>) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        pfx_with(password, |builder| {
            if let Some(alg) = alg {
                builder.key_algorithm(alg).cert_algorithm(alg);
            }
        })
    }

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    /// Checks the assertion signed with `pfx_der`'s key (header, claims, signature) and returns
    /// its header.
    fn check_with(
        pfx_der: &[u8],
        cert_der: &[u8],
        rsa_public: &[u8],
        password: Option<&str>,
        send_chain: bool,
    ) -> serde_json::Value {
        let a = CertificateAssertion::from_pkcs12(pfx_der, password, "client", URL, send_chain)
            .unwrap();
        let jwt = a.sign(SystemTime::now()).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode(parts[0]);
        assert_eq!(header["alg"], "PS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(
            header["x5t#S256"],
            URL_SAFE_NO_PAD.encode(digest(&SHA256, cert_der))
        );
        let claims = decode(parts[1]);
        assert_eq!(claims["aud"], URL);
        assert_eq!(claims["iss"], "client");
        assert_eq!(claims["sub"], "client");
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["nbf"].as_u64().unwrap(),
            ASSERTION_LIFETIME_SECS
        );
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, rsa_public)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("the signature verifies with the certificate's public key");
        header
    }

    /// [`check_with`] without the chain: the header has no `x5c`.
    fn check(pfx_der: &[u8], cert_der: &[u8], rsa_public: &[u8], password: Option<&str>) {
        let header = check_with(pfx_der, cert_der, rsa_public, password, false);
        assert!(header.get("x5c").is_none(), "{header}");
    }

    /// A root CA, an intermediate CA and a leaf certificate the intermediate issued (rcgen, RSA),
    /// packed by OpenSSL with the leaf's key and the two CA certificates listed root first.
    /// Returns the PFX, the DER of leaf, intermediate and root, and the leaf's public key.
    fn chain_pfx(password: &str) -> (Vec<u8>, [Vec<u8>; 3], Vec<u8>) {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PKCS_RSA_SHA256,
        };
        let params = |cn: &str, ca: bool| {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name = rcgen::DistinguishedName::new();
            p.distinguished_name.push(DnType::CommonName, cn);
            if ca {
                p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            }
            p
        };
        let rsa = || KeyPair::generate_for(&PKCS_RSA_SHA256).unwrap();
        let (root_key, inter_key, leaf_key) = (rsa(), rsa(), rsa());
        let root_params = params("Test Root CA", true);
        let root = root_params.self_signed(&root_key).unwrap();
        let inter_params = params("Test Issuing CA", true);
        let inter = inter_params
            .signed_by(&inter_key, &Issuer::from_params(&root_params, &root_key))
            .unwrap();
        let leaf = params("sni-principal.example", false)
            .signed_by(&leaf_key, &Issuer::from_params(&inter_params, &inter_key))
            .unwrap();

        let x509 = |der: &[u8]| openssl::x509::X509::from_der(der).unwrap();
        let key = openssl::pkey::PKey::private_key_from_pkcs8(&leaf_key.serialize_der()).unwrap();
        let mut cas = openssl::stack::Stack::new().unwrap();
        cas.push(x509(root.der())).unwrap();
        cas.push(x509(inter.der())).unwrap();
        let pfx = openssl::pkcs12::Pkcs12::builder()
            .name("principal")
            .pkey(&key)
            .cert(&x509(leaf.der()))
            .ca(cas)
            .build2(password)
            .unwrap()
            .to_der()
            .unwrap();
        let spki = key.rsa().unwrap().public_key_to_der_pkcs1().unwrap();
        let ders = [leaf.der(), inter.der(), root.der()].map(|d| d.to_vec());
        (pfx, ders, spki)
    }

    #[test]
    fn reads_openssl3_default_pbes2_aes() {
        let (p, c, k) = pfx("pw", None);
        check(&p, &c, &k, Some("pw"));
    }

    #[test]
    fn reads_legacy_triple_des() {
        let (p, c, k) = pfx("pw", Some(Nid::PBE_WITHSHA1AND3_KEY_TRIPLEDES_CBC));
        check(&p, &c, &k, Some("pw"));
    }

    #[test]
    fn reads_legacy_rc2_40_certificates() {
        // Older Windows exports and `openssl pkcs12 -legacy`: RC2-40 for the certificates,
        // 3DES for the key. OpenSSL 3 keeps RC2 in its legacy provider.
        let _legacy = openssl::provider::Provider::try_load(None, "legacy", true)
            .expect("OpenSSL's legacy provider (RC2) is installed");
        let (p, c, k) = pfx_with("pw", |builder| {
            builder
                .key_algorithm(Nid::PBE_WITHSHA1AND3_KEY_TRIPLEDES_CBC)
                .cert_algorithm(Nid::PBE_WITHSHA1AND40BITRC2_CBC)
                .mac_md(openssl::hash::MessageDigest::sha1());
        });
        check(&p, &c, &k, Some("pw"));
    }

    #[test]
    fn sends_the_chain_leaf_first_in_standard_base64() {
        let (p, [leaf, intermediate, root], k) = chain_pfx("pw");
        let header = check_with(&p, &leaf, &k, Some("pw"), true);
        let x5c: Vec<&str> = header["x5c"]
            .as_array()
            .expect("x5c is an array")
            .iter()
            .map(|c| c.as_str().expect("each entry a string"))
            .collect();
        // The issuance order, whatever the order of the file's CA certificates (root first).
        let want = [&leaf, &intermediate, &root].map(|der| STANDARD.encode(der));
        assert_eq!(x5c, want);
        // Standard base64 with padding: DER this long always has a `+` or `/` somewhere, which
        // the URL-safe alphabet would have written as `-` or `_`.
        assert!(x5c.iter().any(|c| c.contains('+') || c.contains('/')));
        assert!(x5c.iter().all(|c| !c.contains('-') && !c.contains('_')));
    }

    #[test]
    fn the_chain_is_off_by_default_and_a_lone_certificate_is_a_chain_of_one() {
        let (p, [leaf, ..], k) = chain_pfx("pw");
        check(&p, &leaf, &k, Some("pw"));
        let (p, c, k) = pfx("pw", None);
        let header = check_with(&p, &c, &k, Some("pw"), true);
        assert_eq!(header["x5c"], serde_json::json!([STANDARD.encode(&c)]));
    }

    #[test]
    fn empty_password_is_the_default() {
        let (p, c, k) = pfx("", None);
        check(&p, &c, &k, None);
    }

    #[test]
    fn wrong_password_and_garbage_are_clear_errors() {
        let (p, _, _) = pfx("right-Passw0rd", None);
        let e = CertificateAssertion::from_pkcs12(&p, Some("wrong"), "c", URL, true).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("client_certificate_password"), "{text}");
        assert!(!text.contains("right-Passw0rd"), "{text}");
        let e = CertificateAssertion::from_pkcs12(b"not a pfx", None, "c", URL, false).unwrap_err();
        assert!(e.to_string().contains("PFX/PKCS#12"), "{e}");
    }
}
