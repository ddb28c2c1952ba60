//! Subject name + issuer ("SNI") trust: an application that trusts every certificate with a
//! given subject issued by a given CA, instead of one registered certificate. The client proves
//! it by sending the chain in the assertion's `x5c` header (RFC 7515 §4.1.6: standard base64
//! DER, the signing certificate first); Entra checks the chain, not a thumbprint it knows.
//!
//! [`check_chain`] does what the token endpoint needs: the assertion's signature under
//! `x5c[0]`, `x5t#S256` against `x5c[0]`, the subject and `x5c[1]` against a trusted subject,
//! and that `x5c[1]` really issued `x5c[0]` (rustls-webpki: signature, validity period, CA
//! constraints, client-authentication usage when the certificate names usages).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls::pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use sha2::{Digest, Sha256};

/// One trusted certificate subject of an application.
#[derive(Debug, Clone)]
pub(crate) struct TrustedSubject {
    /// The subject as RFC 4514 prints it (`CN=…, O=…`); compared without regard to case.
    pub subject_name: String,
    /// The issuing CA's certificate (DER).
    pub issuer_der: Vec<u8>,
}

/// What a client assertion's header says about its certificate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PresentedChain<'a> {
    /// `x5c`, decoded: the signing certificate first, then its issuer.
    pub x5c: &'a [Vec<u8>],
    /// `x5t#S256`, as sent (base64url of the certificate's SHA-256).
    pub x5t_s256: Option<&'a str>,
}

/// Why a chain is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChainRejection {
    /// `x5c[0]` is missing or not a certificate.
    Malformed,
    /// The assertion's signature does not verify with `x5c[0]`'s key.
    BadSignature,
    /// `x5t#S256` is missing or is not `x5c[0]`'s thumbprint.
    ThumbprintMismatch,
    /// No trusted subject has `x5c[0]`'s subject with `x5c[1]` as its issuer.
    Untrusted,
    /// `x5c[1]` is the trusted issuer, but it did not validly issue `x5c[0]`.
    InvalidChain(String),
}

/// Checks an assertion (`message` signed into `signature` with `algorithm`) presented with
/// `chain` against the application's `trusted` subjects.
pub(crate) fn check_chain(
    trusted: &[TrustedSubject],
    chain: PresentedChain<'_>,
    algorithm: &dyn SignatureVerificationAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), ChainRejection> {
    let leaf_der = CertificateDer::from(
        chain
            .x5c
            .first()
            .ok_or(ChainRejection::Malformed)?
            .as_slice(),
    );
    let leaf = webpki::EndEntityCert::try_from(&leaf_der).map_err(|_| ChainRejection::Malformed)?;
    leaf.verify_signature(algorithm, message, signature)
        .map_err(|_| ChainRejection::BadSignature)?;
    let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(leaf_der.as_ref()));
    if chain.x5t_s256.map(|t| t.trim_end_matches('=')) != Some(thumbprint.as_str()) {
        return Err(ChainRejection::ThumbprintMismatch);
    }
    let subject = x509_parser::parse_x509_certificate(leaf_der.as_ref())
        .map_err(|_| ChainRejection::Malformed)?
        .1
        .subject()
        .to_string();
    let issuer = chain.x5c.get(1).ok_or(ChainRejection::Untrusted)?;
    let trust = trusted
        .iter()
        .find(|t| t.subject_name.trim().eq_ignore_ascii_case(&subject) && t.issuer_der == *issuer)
        .ok_or(ChainRejection::Untrusted)?;
    let issuer_der = CertificateDer::from(trust.issuer_der.as_slice());
    let anchor = webpki::anchor_from_trusted_cert(&issuer_der)
        .map_err(|e| ChainRejection::InvalidChain(e.to_string()))?;
    leaf.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        &[],
        UnixTime::now(),
        webpki::KeyUsage::client_auth(),
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| ChainRejection::InvalidChain(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PKCS_RSA_SHA256,
        SigningKey,
    };

    struct Pki {
        ca: Vec<u8>,
        leaf: Vec<u8>,
        leaf_key: KeyPair,
        other_ca: Vec<u8>,
        /// A certificate with the leaf's subject that the other CA issued.
        impostor: Vec<u8>,
        impostor_key: KeyPair,
    }

    fn params(cn: &str, ca: bool) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        if ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        p
    }

    fn pki() -> Pki {
        let rsa = || KeyPair::generate_for(&PKCS_RSA_SHA256).expect("key");
        let (ca_key, other_key, leaf_key, impostor_key) = (rsa(), rsa(), rsa(), rsa());
        let ca_params = params("Trusted CA", true);
        let ca = ca_params.self_signed(&ca_key).expect("CA");
        let other_params = params("Other CA", true);
        let other = other_params.self_signed(&other_key).expect("other CA");
        let leaf = params("app.example", false)
            .signed_by(&leaf_key, &Issuer::from_params(&ca_params, &ca_key))
            .expect("leaf");
        let impostor = params("app.example", false)
            .signed_by(
                &impostor_key,
                &Issuer::from_params(&other_params, &other_key),
            )
            .expect("impostor");
        Pki {
            ca: ca.der().to_vec(),
            leaf: leaf.der().to_vec(),
            leaf_key,
            other_ca: other.der().to_vec(),
            impostor: impostor.der().to_vec(),
            impostor_key,
        }
    }

    const ALG: &dyn SignatureVerificationAlgorithm = webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256;

    fn thumbprint(der: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(der))
    }

    /// Checks a message signed by `key`, presented with `x5c` and the thumbprint of `x5c[0]`.
    fn check(
        trusted: &[TrustedSubject],
        x5c: &[Vec<u8>],
        key: &KeyPair,
    ) -> Result<(), ChainRejection> {
        let signature = key.sign(b"header.claims").expect("sign");
        let x5t = thumbprint(&x5c[0]);
        let chain = PresentedChain {
            x5c,
            x5t_s256: Some(&x5t),
        };
        check_chain(trusted, chain, ALG, b"header.claims", &signature)
    }

    #[test]
    fn a_chain_to_the_trusted_issuer_with_the_trusted_subject_is_accepted() {
        let p = pki();
        let trusted = [TrustedSubject {
            subject_name: "cn=APP.example".into(),
            issuer_der: p.ca.clone(),
        }];
        assert_eq!(
            check(&trusted, &[p.leaf.clone(), p.ca.clone()], &p.leaf_key),
            Ok(())
        );
        // Without the issuer, or with the wrong one, or another subject: not trusted.
        assert_eq!(
            check(&trusted, std::slice::from_ref(&p.leaf), &p.leaf_key),
            Err(ChainRejection::Untrusted)
        );
        assert_eq!(
            check(&trusted, &[p.leaf.clone(), p.other_ca.clone()], &p.leaf_key),
            Err(ChainRejection::Untrusted)
        );
        let elsewhere = [TrustedSubject {
            subject_name: "CN=other.example".into(),
            issuer_der: p.ca.clone(),
        }];
        assert_eq!(
            check(&elsewhere, &[p.leaf.clone(), p.ca.clone()], &p.leaf_key),
            Err(ChainRejection::Untrusted)
        );
    }

    #[test]
    fn a_chain_that_only_names_the_trusted_issuer_is_refused() {
        // Same subject, the trusted CA's certificate put second, but another CA signed it.
        let p = pki();
        let trusted = [TrustedSubject {
            subject_name: "CN=app.example".into(),
            issuer_der: p.ca.clone(),
        }];
        let result = check(
            &trusted,
            &[p.impostor.clone(), p.ca.clone()],
            &p.impostor_key,
        );
        assert!(
            matches!(result, Err(ChainRejection::InvalidChain(_))),
            "{result:?}"
        );
    }

    #[test]
    fn the_signer_and_thumbprint_must_be_the_first_certificate() {
        let p = pki();
        let trusted = [TrustedSubject {
            subject_name: "CN=app.example".into(),
            issuer_der: p.ca.clone(),
        }];
        let x5c = [p.leaf.clone(), p.ca.clone()];
        assert_eq!(
            check(&trusted, &x5c, &p.impostor_key),
            Err(ChainRejection::BadSignature)
        );
        let signature = p.leaf_key.sign(b"header.claims").expect("sign");
        for x5t in [None, Some(thumbprint(&p.ca))] {
            let chain = PresentedChain {
                x5c: &x5c,
                x5t_s256: x5t.as_deref(),
            };
            assert_eq!(
                check_chain(&trusted, chain, ALG, b"header.claims", &signature),
                Err(ChainRejection::ThumbprintMismatch)
            );
        }
        let empty = PresentedChain {
            x5c: &[],
            x5t_s256: None,
        };
        assert_eq!(
            check_chain(&trusted, empty, ALG, b"header.claims", &signature),
            Err(ChainRejection::Malformed)
        );
    }
}
