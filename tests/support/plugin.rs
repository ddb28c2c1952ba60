//! Launches the provider binary exactly as Terraform (go-plugin) does and
//! talks to it over AutoMTLS.
//!
//! What Terraform v1.11.4 does, and this harness copies:
//! - no arguments; env `TF_PLUGIN_MAGIC_COOKIE`, `PLUGIN_PROTOCOL_VERSIONS=5,6`,
//!   `PLUGIN_MIN_PORT`/`PLUGIN_MAX_PORT`, and `PLUGIN_CLIENT_CERT` holding a
//!   fresh self-signed ECDSA P-521/SHA-512 certificate with CA:TRUE and SAN
//!   `localhost` (go-plugin's `generateCert()`);
//! - reads one stdout line `1|6|unix|<path>|grpc|<base64 DER>`;
//! - dials the address, trusts the announced certificate as the only root,
//!   presents its own certificate, verifies the server as `localhost`, ALPN h2.
//!
//! rustls' webpki refuses a CA:TRUE certificate as an end-entity certificate
//! (Go accepts it), so the server certificate is checked the way Go's single
//! root pool effectively checks it: it must be byte-identical to the announced
//! one, valid for `localhost`, and the handshake signature must verify.
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use base64::Engine;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tonic::transport::{Channel, Endpoint, Uri};

use terraform_provider_vm::plugin::services::proto::{
    grpc_broker_client::GrpcBrokerClient, grpc_controller_client::GrpcControllerClient,
    grpc_stdio_client::GrpcStdioClient,
};
use terraform_provider_vm::tfprotocol::proto::provider_client::ProviderClient;
use tonic_health::pb::health_client::HealthClient;

/// The environment variable Terraform sets so the provider knows it runs as a plugin.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Terraform's value of [`MAGIC_COOKIE_KEY`].
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// What terraform-plugin-go allows; the client side of the tests uses it too.
pub const MAX_MESSAGE: usize = 256 << 20;
/// How long Terraform waits for the handshake line is 1 min; tests are
/// stricter so a hung binary fails quickly.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

/// Any error, for helpers whose callers only report it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The provider binary cargo built for this test or bench target. Cargo
/// gives its path to the running test (`CARGO_BIN_EXE_<name>`); a test
/// executable started by hand finds it beside its own `deps/` directory.
pub fn provider_binary() -> PathBuf {
    const NAME: &str = "terraform-provider-vm";
    let path = std::env::var_os(format!("CARGO_BIN_EXE_{NAME}"))
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            let profile_dir = exe.parent()?.parent()?;
            Some(profile_dir.join(format!("{NAME}{}", std::env::consts::EXE_SUFFIX)))
        })
        .expect("the path of the test executable");
    assert!(
        path.is_file(),
        "the provider binary is missing at {} (run the tests through cargo)",
        path.display()
    );
    path
}

/// A client identity shaped like go-plugin's `generateCert()`.
pub struct ClientIdentity {
    /// The certificate, PEM (what `PLUGIN_CLIENT_CERT` carries).
    pub cert_pem: String,
    /// The same certificate, DER.
    pub cert_der: CertificateDer<'static>,
    key_der: PrivatePkcs8KeyDer<'static>,
}

impl ClientIdentity {
    /// ECDSA P-521 / SHA-512, self-signed, CA:TRUE, O=HashiCorp,
    /// CN=localhost, SAN localhost, 128-bit random serial, ~30 years valid.
    pub fn terraform_like() -> ClientIdentity {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512)
            .expect("generate a P-521 key");
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .expect("certificate parameters");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "HashiCorp");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyEncipherment,
            rcgen::KeyUsagePurpose::KeyAgreement,
            rcgen::KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let mut serial: [u8; 16] = rand::random();
        serial[0] &= 0x7f;
        serial[0] |= 0x01;
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::seconds(30);
        params.not_after = now + time::Duration::hours(262_980);
        let cert = params.self_signed(&key).expect("self-sign the certificate");
        ClientIdentity {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
        }
    }

    /// The certificate's private key.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key_der.clone_key())
    }
}

/// The parsed handshake line.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The line as printed.
    pub line: String,
    /// go-plugin's core protocol version.
    pub core_version: String,
    /// The plugin protocol version.
    pub app_version: String,
    /// `unix` or `tcp`.
    pub network: String,
    /// The socket path or `host:port`.
    pub address: String,
    /// The RPC protocol (`grpc`).
    pub protocol: String,
    /// The provider's server certificate (AutoMTLS).
    pub server_cert: CertificateDer<'static>,
}

impl Handshake {
    /// Parses `CORE|APP|NETWORK|ADDR|PROTOCOL|CERT` strictly: exactly six
    /// fields, the certificate unpadded standard base64.
    pub fn parse(line: &str) -> Result<Handshake, String> {
        let fields: Vec<&str> = line.split('|').collect();
        let [core, app, network, address, protocol, cert] = fields[..] else {
            return Err(format!(
                "handshake line has {} fields, not 6: {line:?}",
                fields.len()
            ));
        };
        let der = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(cert)
            .map_err(|e| format!("certificate field is not unpadded base64: {e}"))?;
        Ok(Handshake {
            line: line.to_string(),
            core_version: core.to_string(),
            app_version: app.to_string(),
            network: network.to_string(),
            address: address.to_string(),
            protocol: protocol.to_string(),
            server_cert: CertificateDer::from(der),
        })
    }
}

/// The command Terraform would run: no arguments, the handshake environment,
/// no logging, stdout and stderr piped.
pub fn terraform_command(binary: &Path, identity: Option<&ClientIdentity>) -> Command {
    let mut cmd = Command::new(binary);
    cmd.env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env_remove("PLUGIN_CLIENT_CERT")
        .env_remove("PLUGIN_UNIX_SOCKET_DIR")
        .env_remove("PLUGIN_MULTIPLEX_GRPC")
        .env_remove("TF_LOG")
        .env_remove("TF_LOG_PROVIDER")
        .env_remove("TF_LOG_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(id) = identity {
        cmd.env("PLUGIN_CLIENT_CERT", &id.cert_pem);
    }
    cmd
}

/// A running provider process, killed (and reaped) on drop.
pub struct PluginProcess {
    child: Option<Child>,
    stdout: Option<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_thread: Option<std::thread::JoinHandle<()>>,
    /// The handshake it printed.
    pub handshake: Handshake,
    /// The client certificate it was started with.
    pub identity: ClientIdentity,
}

impl PluginProcess {
    /// Starts the test binary with a fresh Terraform-like certificate and
    /// waits for a well-formed handshake line; panics otherwise.
    pub fn start() -> PluginProcess {
        Self::start_binary(&provider_binary(), ClientIdentity::terraform_like())
    }

    /// Starts `binary` as Terraform would, trusting `identity`; waits for the handshake.
    pub fn start_binary(binary: &Path, identity: ClientIdentity) -> PluginProcess {
        let cmd = terraform_command(binary, Some(&identity));
        Self::spawn(cmd, identity).unwrap_or_else(|e| panic!("plugin did not start: {e}"))
    }

    /// Spawns `cmd` and reads the handshake line.
    pub fn spawn(mut cmd: Command, identity: ClientIdentity) -> Result<PluginProcess, String> {
        let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr_pipe = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        let stderr_thread = std::thread::spawn(move || {
            let mut pipe = stderr_pipe;
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let mut process = PluginProcess {
            child: Some(child),
            stdout: None,
            stderr,
            stderr_thread: Some(stderr_thread),
            handshake: Handshake {
                line: String::new(),
                core_version: String::new(),
                app_version: String::new(),
                network: String::new(),
                address: String::new(),
                protocol: String::new(),
                server_cert: CertificateDer::from(Vec::new()),
            },
            identity,
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let r = reader.read_line(&mut line).map(|_| line);
            let _ = tx.send((r, reader));
        });
        let (line, reader) = match rx.recv_timeout(HANDSHAKE_TIMEOUT) {
            Ok((Ok(line), reader)) => (line, reader),
            Ok((Err(e), _)) => return Err(format!("reading stdout: {e}")),
            Err(_) => {
                return Err(format!(
                    "no handshake line within {HANDSHAKE_TIMEOUT:?}; stderr: {}",
                    process.stderr()
                ));
            }
        };
        process.stdout = Some(reader);
        let Some(line) = line.strip_suffix('\n') else {
            let status = process.wait_timeout(Duration::from_secs(5));
            return Err(format!(
                "stdout ended without a complete handshake line ({line:?}); exit {status:?}; stderr: {}",
                process.stderr()
            ));
        };
        process.handshake = Handshake::parse(line)?;
        Ok(process)
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("process not reaped").id()
    }

    /// What the plugin wrote on stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Polls for the exit for up to `timeout`.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => return None,
            }
        }
    }

    /// Everything written on stdout after the handshake line, up to EOF.
    /// Call after the process exited.
    pub fn rest_of_stdout(&mut self) -> String {
        let mut rest = String::new();
        if let Some(r) = self.stdout.as_mut() {
            r.read_to_string(&mut rest).expect("read stdout");
        }
        rest
    }

    /// Blocks until the process exits and returns the raw wait status and
    /// its resource usage (`wait4`), for the launch benchmark.
    pub fn wait4(&mut self) -> (i32, libc::rusage) {
        let child = self.child.take().expect("process not reaped");
        let pid = child.id() as libc::pid_t;
        let mut status = 0;
        // SAFETY: rusage is plain old data; wait4 fills it in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: pid is our own unreaped child; the pointers are valid.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
        // The Child is reaped now; dropping it neither kills nor waits.
        drop(child);
        (status, usage)
    }

    /// A mutually authenticated channel, or why not.
    pub async fn channel(&self) -> Result<Channel, BoxError> {
        connect(&self.handshake, Some(&self.identity)).await
    }

    /// A mutually authenticated channel, or a panic saying why not.
    pub async fn connect(&self) -> Channel {
        match self.channel().await {
            Ok(c) => c,
            Err(e) => panic!("mTLS connection failed: {e:?}; stderr: {}", self.stderr()),
        }
    }

    /// [`PluginProcess::start`] and a provider client connected to it.
    pub async fn start_provider() -> (PluginProcess, ProviderClient<Channel>) {
        let plugin = PluginProcess::start();
        let client = plugin.provider().await;
        (plugin, client)
    }

    /// A `tfplugin6` provider client over [`Self::connect`].
    pub async fn provider(&self) -> ProviderClient<Channel> {
        provider_client(self.connect().await)
    }

    /// A go-plugin controller client over [`Self::connect`].
    pub async fn controller(&self) -> GrpcControllerClient<Channel> {
        GrpcControllerClient::new(self.connect().await)
    }

    /// A go-plugin stdio client over [`Self::connect`].
    pub async fn stdio(&self) -> GrpcStdioClient<Channel> {
        GrpcStdioClient::new(self.connect().await)
    }

    /// A go-plugin broker client over [`Self::connect`].
    pub async fn broker(&self) -> GrpcBrokerClient<Channel> {
        GrpcBrokerClient::new(self.connect().await)
    }

    /// A gRPC health client over [`Self::connect`].
    pub async fn health(&self) -> HealthClient<Channel> {
        HealthClient::new(self.connect().await)
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM first, so the plugin removes its socket directory; SIGKILL if it lingers.
            // SAFETY: signalling our own child, which is not reaped yet.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(t) = self.stderr_thread.take() {
            let _ = t.join();
        }
    }
}

/// A tfplugin6 client with terraform-plugin-go's message limits.
pub fn provider_client(channel: Channel) -> ProviderClient<Channel> {
    ProviderClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
}

/// Dials the announced unix socket and runs the TLS handshake as
/// Terraform's client would; `identity: None` presents no certificate.
pub async fn connect(
    handshake: &Handshake,
    identity: Option<&ClientIdentity>,
) -> Result<Channel, BoxError> {
    connect_offering(handshake, identity, rustls::DEFAULT_VERSIONS).await
}

/// [`connect`], offering only the TLS `versions` given.
pub async fn connect_offering(
    handshake: &Handshake,
    identity: Option<&ClientIdentity>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<Channel, BoxError> {
    if handshake.network != "unix" {
        return Err(format!("unsupported network {:?}", handshake.network).into());
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = PinnedServerCert {
        expected: handshake.server_cert.clone().into_owned(),
        algorithms: provider.signature_verification_algorithms,
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match identity {
        Some(id) => builder.with_client_auth_cert(vec![id.cert_der.clone()], id.key())?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config));
    let path = PathBuf::from(&handshake.address);
    let connector = tower::service_fn(move |_: Uri| {
        let tls = tls.clone();
        let path = path.clone();
        async move {
            let tcp = tokio::net::UnixStream::connect(&path).await?;
            let name = ServerName::try_from("localhost").expect("valid name");
            let stream = tls.connect(name, tcp).await?;
            let alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
            if alpn.as_deref() != Some(b"h2".as_slice()) {
                return Err(std::io::Error::other(format!(
                    "server did not negotiate ALPN h2 (got {alpn:?})"
                )));
            }
            Ok::<_, std::io::Error>(TokioIo::new(stream))
        }
    });
    let channel = Endpoint::from_static("http://localhost")
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .connect_with_connector(connector)
        .await?;
    Ok(channel)
}

/// Trusts exactly the certificate announced in the handshake.
#[derive(Debug)]
struct PinnedServerCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServerCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() != self.expected.as_ref() {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            ));
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    /// Unreachable: the plugin speaks TLS 1.3 only (a test checks that it refuses 1.2).
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
