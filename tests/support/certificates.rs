//! Client certificates for the certificate credential: a PKCS#12 file holding a service
//! principal's RSA key, its certificate and the CA that issued it — certificates made with rcgen,
//! the file packed by OpenSSL (a producer independent of the provider's pure-Rust reader) — and
//! the emulator registration that trusts that certificate by subject name + issuer.

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PKCS_RSA_SHA256};
use vm_emulator::admin::{ClientRegistration, TrustedCertificateSubject};

/// The subject of the issued certificate.
pub const SNI_SUBJECT: &str = "CN=terraform-provider-vm.sni.test";

/// A PFX with a key, its CA-issued certificate and the CA, in a temporary directory.
pub struct IssuedCertificate {
    /// The `.pfx` file.
    pub pfx_path: PathBuf,
    /// The issuing CA's certificate (PEM).
    pub ca_pem: String,
    /// The certificate's private key (PKCS#8 DER), to search logs for.
    pub key_der: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl IssuedCertificate {
    /// A fresh CA and a certificate for [`SNI_SUBJECT`] it issued, packed with the key into a PFX
    /// encrypted with `password`.
    pub fn new(password: &str) -> IssuedCertificate {
        let params = |cn: &str, ca: bool| {
            let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
            p.distinguished_name = rcgen::DistinguishedName::new();
            p.distinguished_name.push(DnType::CommonName, cn);
            if ca {
                p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            }
            p
        };
        let rsa = || KeyPair::generate_for(&PKCS_RSA_SHA256).expect("RSA key");
        let (ca_key, key) = (rsa(), rsa());
        let ca_params = params("terraform-provider-vm test issuing CA", true);
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
        let cn = SNI_SUBJECT.trim_start_matches("CN=");
        let cert = params(cn, false)
            .signed_by(&key, &Issuer::from_params(&ca_params, &ca_key))
            .expect("issued certificate");

        let x509 = |der: &[u8]| openssl::x509::X509::from_der(der).expect("X.509");
        let mut cas = openssl::stack::Stack::new().expect("stack");
        cas.push(x509(ca.der())).expect("CA in the stack");
        let pkey =
            openssl::pkey::PKey::private_key_from_pkcs8(&key.serialize_der()).expect("PKCS#8");
        let pfx = openssl::pkcs12::Pkcs12::builder()
            .name("principal")
            .pkey(&pkey)
            .cert(&x509(cert.der()))
            .ca(cas)
            .build2(password)
            .expect("PKCS#12");
        let dir = tempfile::tempdir().expect("temp dir");
        let pfx_path = dir.path().join("sni-principal.pfx");
        std::fs::write(&pfx_path, pfx.to_der().expect("DER")).expect("write PFX");
        IssuedCertificate {
            pfx_path,
            ca_pem: ca.pem(),
            key_der: key.serialize_der(),
            _dir: dir,
        }
    }

    /// Registers `client_id` as trusting [`SNI_SUBJECT`] from this CA, and nothing else: no
    /// certificate of its own, no secret.
    pub fn sni_registration(&self, client_id: &str) -> ClientRegistration {
        ClientRegistration {
            client_id: client_id.to_string(),
            trusted_subject: Some(TrustedCertificateSubject {
                subject_name: SNI_SUBJECT.to_string(),
                issuer_pem: self.ca_pem.clone(),
            }),
            ..Default::default()
        }
    }

    /// The PFX path as text, for `ARM_CLIENT_CERTIFICATE_PATH`.
    pub fn path_str(&self) -> String {
        self.pfx_path.to_string_lossy().into_owned()
    }
}
