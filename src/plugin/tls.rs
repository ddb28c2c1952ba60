//! AutoMTLS: a fresh server certificate per start, and a client verifier
//! that accepts exactly the certificate Terraform announced.
//!
//! Terraform's client certificate is a self-signed ECDSA P-521 certificate
//! with CA:TRUE. webpki refuses such a certificate as a client end-entity, so
//! it is pinned instead: the presented certificate must be byte-identical to
//! `PLUGIN_CLIENT_CERT`, and the handshake signature is verified with the
//! aws-lc-rs algorithms (ring cannot verify P-521/SHA-512).

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// Why AutoMTLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Terraform's certificate is unreadable.
    #[error("PLUGIN_CLIENT_CERT does not hold a PEM certificate")]
    BadClientCert,
    /// The provider's own certificate could not be made.
    #[error("could not generate the server certificate: {0}")]
    CertGeneration(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("could not set up TLS: {0}")]
    Config(#[from] rustls::Error),
}

pub(crate) struct ServerIdentity {
    pub(crate) cert_der: CertificateDer<'static>,
    key_der: PrivateKeyDer<'static>,
}

/// A throwaway certificate for `localhost`, which is the name Terraform
/// verifies. P-256 keeps generation fast.
pub(crate) fn generate_server_identity() -> Result<ServerIdentity, TlsError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()])?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "terraform-provider-vm");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::seconds(30);
    params.not_after = now + time::Duration::days(365);
    let cert = params.self_signed(&key)?;
    Ok(ServerIdentity {
        cert_der: cert.der().clone(),
        key_der: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    })
}

pub(crate) fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The rustls server configuration for AutoMTLS with ALPN `h2`.
pub(crate) fn server_config(
    identity: &ServerIdentity,
    client_cert_pem: &str,
) -> Result<rustls::ServerConfig, TlsError> {
    let provider = crypto_provider();
    let verifier =
        PinnedClientCert::from_pem(client_cert_pem, provider.signature_verification_algorithms)?;
    // TLS 1.3 only: every Terraform (Go 1.13 and later) offers it, it saves a round trip on
    // each of a run's provider launches, and TLS 1.2's signatures never need checking.
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(
            vec![identity.cert_der.clone()],
            identity.key_der.clone_key(),
        )?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

#[derive(Debug)]
pub(crate) struct PinnedClientCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCert {
    pub(crate) fn from_pem(
        pem: &str,
        algorithms: WebPkiSupportedAlgorithms,
    ) -> Result<PinnedClientCert, TlsError> {
        let expected =
            CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|_| TlsError::BadClientCert)?;
        Ok(PinnedClientCert {
            expected,
            algorithms,
        })
    }
}

impl ClientCertVerifier for PinnedClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            ))
        }
    }

    /// Unreachable in practice: the server speaks TLS 1.3 only.
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::PeerIncompatible::Tls12NotOffered.into())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
