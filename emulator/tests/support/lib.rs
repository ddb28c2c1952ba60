//! The fixtures the emulator's integration tests share: an in-process emulator, an HTTPS
//! client that trusts its CA, a token for the emulator's ARM audience, and the typed admin
//! client; applications that sign client assertions with certificates (registered, or trusted
//! by subject name + issuer); helpers for ARM requests, operation polls, lists and error
//! answers.
//!
//! A crate of its own rather than a `tests/support/mod.rs` that every test file compiles
//! again (each would warn about the helpers it does not use).

use std::time::{Duration, Instant};

use reqwest::{Certificate, Client, Method, Response};
use serde_json::{Value, json};
use vm_emulator::admin::{
    AdminClient, ClientRegistration, LinuxGuestView, LoginOutcome, SshLogin,
    TrustedCertificateSubject, VmRef,
};
use vm_emulator::{
    AccountSeed, Emulator, EmulatorConfig, FaultSpec, LinuxGuestSeed, LroStyle, VmSeed, VmView,
};

/// The test VM's resource group.
pub const RG: &str = "rg-test";
/// The test VM's name.
pub const VM: &str = "vm-test";
/// The query of an ARM request with a Compute `api-version` the emulator serves.
pub const API: &str = "api-version=2025-04-01";
/// The scope of the emulator's own ARM audience.
pub const EMULATOR_SCOPE: &str = "https://management.emulator.local/.default";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How a client proves itself in a client-credentials request.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// A client secret (`client_secret`).
    Secret(&'a str),
    /// A signed JWT (`client_assertion`).
    Assertion(&'a str),
}

/// The form of a client-credentials token request.
pub fn client_credentials<'a>(
    client_id: &'a str,
    credential: Credential<'a>,
    scope: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
    ];
    match credential {
        Credential::Secret(secret) => form.push(("client_secret", secret)),
        Credential::Assertion(assertion) => form.extend([
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ]),
    }
    form.push(("scope", scope));
    form
}

/// Base64url without padding, as JWTs encode their parts.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An application registered with a fresh self-signed RSA certificate, which signs its
/// client assertions.
pub struct CertificateClient {
    /// The registered application (client) ID.
    pub client_id: String,
    key: rcgen::KeyPair,
}

impl CertificateClient {
    /// Registers `client_id` with a new certificate in `f`'s emulator.
    pub async fn register(f: &Fixture, client_id: &str) -> CertificateClient {
        use rcgen::{CertificateParams, KeyPair, PKCS_RSA_SHA256};
        let key = KeyPair::generate_for(&PKCS_RSA_SHA256).expect("RSA key");
        let cert = CertificateParams::new(vec!["client".to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let registration = ClientRegistration {
            client_id: client_id.to_string(),
            client_secret: None,
            certificate_pem: Some(cert.pem()),
            trusted_subject: None,
        };
        f.admin
            .register_client(&registration)
            .await
            .expect("client registered");
        CertificateClient {
            client_id: client_id.to_string(),
            key,
        }
    }

    /// A client assertion for `f`'s token endpoint, valid for `lifetime_secs` from now.
    pub fn assertion(&self, f: &Fixture, lifetime_secs: u64) -> String {
        use rcgen::SigningKey;
        let now = unix_now();
        let id = &self.client_id;
        let header = b64(json!({"alg": "RS256", "typ": "JWT"}).to_string().as_bytes());
        let claims = json!({"aud": f.token_url(), "iss": id, "sub": id, "nbf": now, "exp": now + lifetime_secs, "jti": "1"});
        let message = format!("{header}.{}", b64(claims.to_string().as_bytes()));
        let signature = b64(&self.key.sign(message.as_bytes()).expect("sign"));
        format!("{message}.{signature}")
    }
}

/// An application that trusts certificates by subject name + issuer: the subject
/// [`SniClient::SUBJECT`] from a test CA. Holds a certificate that CA issued to that subject, and
/// an impostor with the same subject from another CA.
pub struct SniClient {
    /// The registered application (client) ID.
    pub client_id: String,
    /// The trusted CA's certificate (DER).
    pub ca: Vec<u8>,
    /// The certificate the CA issued to the trusted subject (DER), and its key.
    pub certificate: Vec<u8>,
    /// The key of [`certificate`](Self::certificate).
    pub key: rcgen::KeyPair,
    /// A certificate with the trusted subject that another CA issued (DER), and its key.
    pub impostor: Vec<u8>,
    /// The key of [`impostor`](Self::impostor).
    pub impostor_key: rcgen::KeyPair,
}

impl SniClient {
    /// The trusted subject.
    pub const SUBJECT: &str = "CN=sni-app.emulator.test";

    /// Makes the PKI and registers `client_id` trusting [`Self::SUBJECT`] from its CA.
    pub async fn register(f: &Fixture, client_id: &str) -> SniClient {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let params = |cn: &str, ca: bool| {
            let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
            p.distinguished_name = rcgen::DistinguishedName::new();
            p.distinguished_name.push(DnType::CommonName, cn);
            if ca {
                p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            }
            p
        };
        let rsa = || KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
        let (ca_key, other_key, key, impostor_key) = (rsa(), rsa(), rsa(), rsa());
        let ca_params = params("Emulator Test Issuing CA", true);
        let ca = ca_params.self_signed(&ca_key).expect("CA");
        let cn = Self::SUBJECT.trim_start_matches("CN=");
        let certificate = params(cn, false)
            .signed_by(&key, &Issuer::from_params(&ca_params, &ca_key))
            .expect("certificate");
        let impostor = params(cn, false)
            .signed_by(
                &impostor_key,
                &Issuer::new(params("Some Other CA", true), other_key),
            )
            .expect("impostor");
        let registration = ClientRegistration {
            client_id: client_id.to_string(),
            trusted_subject: Some(TrustedCertificateSubject {
                subject_name: Self::SUBJECT.to_string(),
                issuer_pem: ca.pem(),
            }),
            ..Default::default()
        };
        f.admin
            .register_client(&registration)
            .await
            .expect("registered for subject name + issuer");
        SniClient {
            client_id: client_id.to_string(),
            ca: ca.der().to_vec(),
            certificate: certificate.der().to_vec(),
            key,
            impostor: impostor.der().to_vec(),
            impostor_key,
        }
    }

    /// A client assertion for `f`'s token endpoint signed (RS256) by `key`, valid for ten
    /// minutes, its header carrying the fields of `extra` (`x5c`, `x5t#S256`).
    pub fn assertion(&self, f: &Fixture, key: &rcgen::KeyPair, extra: Value) -> String {
        use rcgen::SigningKey;
        let mut header = json!({"alg": "RS256", "typ": "JWT"});
        if let (Some(header), Value::Object(extra)) = (header.as_object_mut(), extra) {
            header.extend(extra);
        }
        let now = unix_now();
        let id = &self.client_id;
        let claims = json!({"aud": f.token_url(), "iss": id, "sub": id, "nbf": now, "exp": now + 600, "jti": "1"});
        let message = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = b64(&key.sign(message.as_bytes()).expect("sign"));
        format!("{message}.{signature}")
    }
}

/// An `x5c` header value: each certificate's DER in standard base64 (RFC 7515 §4.1.6).
pub fn x5c(certificates: &[&Vec<u8>]) -> Vec<String> {
    use base64::Engine;
    certificates
        .iter()
        .map(|c| base64::engine::general_purpose::STANDARD.encode(c))
        .collect()
}

/// An `x5t#S256` header value: the certificate's SHA-256 in base64url.
pub fn x5t_s256(certificate: &[u8]) -> String {
    use sha2::Digest;
    b64(&sha2::Sha256::digest(certificate))
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// A running emulator and what a test needs to talk to it.
pub struct Fixture {
    /// The emulator, started in this process.
    pub emulator: Emulator,
    /// An HTTPS client that trusts the emulator's CA.
    pub http: Client,
    /// The admin client, over the same connection pool.
    pub admin: AdminClient,
    /// A valid ARM token of the configured client.
    pub token: String,
}

/// A fixture with operations of 50 ms and no VM.
pub async fn start() -> Fixture {
    start_with(EmulatorConfig {
        operation_delay: Duration::from_millis(50),
        ..EmulatorConfig::default()
    })
    .await
}

/// A fixture whose test VM is seeded with [`seed`].
pub async fn seeded() -> Fixture {
    seeded_with(|_| {}).await
}

/// A fixture whose test VM is seeded with [`seed`] changed by `change`.
pub async fn seeded_with(change: impl FnOnce(&mut VmSeed)) -> Fixture {
    let f = start().await;
    let mut vm = seed();
    change(&mut vm);
    f.seed_vm(vm).await;
    f
}

/// A fixture whose test VM runs Linux with `guest` inside.
pub async fn seeded_linux(guest: LinuxGuestSeed) -> Fixture {
    let f = start().await;
    f.seed_vm(VmSeed::linux(guest)).await;
    f
}

/// [`start`], with operations that clients poll through `Location` only.
pub async fn start_location_style() -> Fixture {
    start_with(EmulatorConfig {
        operation_delay: Duration::from_millis(50),
        lro_style: LroStyle::LocationOnly,
        ..EmulatorConfig::default()
    })
    .await
}

/// A fixture of an emulator started with `config`.
pub async fn start_with(config: EmulatorConfig) -> Fixture {
    let emulator = Emulator::start(config).await.expect("emulator starts");
    let ca = Certificate::from_pem(emulator.ca_pem().as_bytes()).expect("CA parses");
    let http = Client::builder()
        .tls_certs_only([ca])
        .build()
        .expect("client builds");
    let admin = AdminClient::with_http(http.clone(), &emulator.endpoint()).expect("admin client");
    let mut fixture = Fixture {
        emulator,
        http,
        admin,
        token: String::new(),
    };
    fixture.token = fixture.fresh_token().await;
    fixture
}

impl Fixture {
    /// The URL of `path` on the emulator.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.emulator.endpoint(), path)
    }

    /// The configured subscription.
    pub fn sub(&self) -> String {
        self.emulator.config().subscription_id.clone()
    }

    /// The ARM path of the test VM.
    pub fn vm_path(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/{VM}",
            self.sub()
        )
    }

    /// The ARM URL of the test VM.
    pub fn vm_url(&self) -> String {
        self.url(&format!("{}?{API}", self.vm_path()))
    }

    /// The ARM URL of the test VM's extension `name`.
    pub fn extension_url(&self, name: &str) -> String {
        self.url(&format!("{}/extensions/{name}?{API}", self.vm_path()))
    }

    /// The tenant's v2.0 token endpoint.
    pub fn token_url(&self) -> String {
        self.url(&format!(
            "/{}/oauth2/v2.0/token",
            self.emulator.config().tenant_id
        ))
    }

    /// Posts a form (a token request) to `url`.
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(url)
            .form(form)
            .send()
            .await
            .expect("form posted")
    }

    /// A client-credentials request to the tenant's v2 token endpoint.
    pub async fn token_response(
        &self,
        client_id: &str,
        credential: Credential<'_>,
        scope: &str,
    ) -> Response {
        let form = client_credentials(client_id, credential, scope);
        self.post_form(&self.token_url(), &form).await
    }

    /// The access token of a client-credentials request that must succeed with a v2 answer.
    pub async fn token(&self, client_id: &str, credential: Credential<'_>, scope: &str) -> String {
        let response = self.token_response(client_id, credential, scope).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("token JSON");
        assert_eq!(body["token_type"], "Bearer");
        assert!(body["expires_in"].is_u64(), "v2 sends numbers");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// A token for the configured client's secret, for the emulator's own ARM audience.
    pub async fn fresh_token(&self) -> String {
        self.secret_token(EMULATOR_SCOPE).await
    }

    /// A token for the configured client's secret and `scope`.
    pub async fn secret_token(&self, scope: &str) -> String {
        let config = self.emulator.config();
        let secret = Credential::Secret(&config.client_secret);
        self.token(&config.client_id, secret, scope).await
    }

    /// An ID token from the GitHub Actions OIDC endpoint, as a workflow asks for one.
    pub async fn github_id_token(&self) -> String {
        let url = self.url("/_emulator/oidc/github?audience=api://AzureADTokenExchange");
        let request = self.http.get(url);
        let (status, body) =
            send(request.bearer_auth(vm_emulator::DEFAULT_GITHUB_REQUEST_TOKEN)).await;
        assert_eq!(status, 200, "{body}");
        body["value"].as_str().expect("value").to_string()
    }

    /// Sends an ARM request with the fixture's bearer token.
    pub async fn arm(&self, method: Method, url: &str, body: Option<Value>) -> Response {
        let mut request = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("ARM request")
    }

    /// GETs `path_or_url` (a path on the emulator, or a whole URL) with the fixture's token;
    /// returns the status and the JSON body (`null` when it is empty).
    pub async fn get(&self, path_or_url: &str) -> (u16, Value) {
        let url = if path_or_url.starts_with("https://") {
            path_or_url.to_string()
        } else {
            self.url(path_or_url)
        };
        send(self.http.get(url).bearer_auth(&self.token)).await
    }

    /// The test VM.
    pub fn vm_ref(&self) -> VmRef {
        VmRef::new(self.sub(), RG, VM)
    }

    /// Arms a fault.
    pub async fn add_fault(&self, fault: FaultSpec) {
        self.admin.add_fault(&fault).await.expect("fault armed");
    }

    /// Seeds the test VM (see [`seed`]).
    pub async fn seed_vm(&self, seed: VmSeed) -> VmView {
        self.admin
            .seed_vm(&self.vm_ref(), &seed)
            .await
            .expect("VM seeded")
    }

    /// The test VM as the admin API shows it.
    pub async fn vm(&self) -> VmView {
        self.admin.vm(&self.vm_ref()).await.expect("VM view")
    }

    /// The provisioning state of one of the test VM's extensions, if it exists.
    pub async fn extension_state(&self, name: &str) -> Option<String> {
        let vm = self.vm().await;
        vm.extension(name).map(|e| e.provisioning_state.clone())
    }

    /// Tries an RDP login on the test VM.
    pub async fn login(&self, username: &str, password: &str) -> LoginOutcome {
        self.admin
            .login(&self.vm_ref(), username, password)
            .await
            .expect("login answered")
    }

    /// PUTs a VMAccessAgent extension; returns the response.
    pub async fn put_vmaccess(
        &self,
        name: &str,
        settings: Value,
        protected: Value,
        tag: Option<&str>,
    ) -> Response {
        let handler = ("Microsoft.Compute", "VMAccessAgent", "2.4");
        self.put_extension(name, handler, settings, protected, tag)
            .await
    }

    /// PUTs a VMAccessForLinux extension (1.5, every setting protected); returns the response.
    pub async fn put_linux_vmaccess(
        &self,
        name: &str,
        protected: Value,
        tag: Option<&str>,
    ) -> Response {
        let handler = ("Microsoft.OSTCExtensions", "VMAccessForLinux", "1.5");
        self.put_extension(name, handler, json!({}), protected, tag)
            .await
    }

    /// PUTs extension `name` of `(publisher, type, typeHandlerVersion)`; returns the response.
    pub async fn put_extension(
        &self,
        name: &str,
        (publisher, extension_type, version): (&str, &str, &str),
        settings: Value,
        protected: Value,
        tag: Option<&str>,
    ) -> Response {
        let mut properties = json!({
            "publisher": publisher,
            "type": extension_type,
            "typeHandlerVersion": version,
            "autoUpgradeMinorVersion": true,
            "settings": settings,
            "protectedSettings": protected,
        });
        if let Some(tag) = tag {
            properties["forceUpdateTag"] = json!(tag);
        }
        self.arm(
            Method::PUT,
            &self.extension_url(name),
            Some(json!({"location": "westeurope", "properties": properties})),
        )
        .await
    }

    /// Runs VMAccessForLinux as `enablevmaccess` (the az CLI's name) to the end.
    pub async fn run_linux_vmaccess(&self, protected: Value, tag: Option<&str>) -> Value {
        let response = self
            .put_linux_vmaccess("enablevmaccess", protected, tag)
            .await;
        self.wait(response).await
    }

    /// The test VM's extension `name` with its instance view (`$expand=instanceView`).
    pub async fn extension_with_instance_view(&self, name: &str) -> Value {
        let url = format!("{}&$expand=instanceView", self.extension_url(name));
        let (status, body) = self.get(&url).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The test VM's Linux guest.
    pub async fn linux_guest(&self) -> LinuxGuestView {
        self.admin
            .linux_guest(&self.vm_ref())
            .await
            .expect("Linux guest view")
    }

    /// Tries an SSH login by password on the test VM.
    pub async fn ssh_password(&self, username: &str, password: &str) -> LoginOutcome {
        self.ssh_login(&SshLogin::password(username, password))
            .await
    }

    /// Tries an SSH login by the private half of `public_key` on the test VM.
    pub async fn ssh_key(&self, username: &str, public_key: &str) -> LoginOutcome {
        self.ssh_login(&SshLogin::public_key(username, public_key))
            .await
    }

    async fn ssh_login(&self, login: &SshLogin) -> LoginOutcome {
        let vm = self.vm_ref();
        let answer = self.admin.ssh_login(&vm, login).await;
        answer.expect("SSH login answered")
    }

    /// Polls the `Azure-AsyncOperation` URL of `response` to a terminal status.
    pub async fn wait(&self, response: Response) -> Value {
        assert!(
            response.status().is_success(),
            "unexpected status {}",
            response.status()
        );
        let url = response
            .headers()
            .get("azure-asyncoperation")
            .expect("Azure-AsyncOperation header")
            .to_str()
            .expect("header text")
            .to_string();
        self.poll(&url, |_, status| status["status"] == "InProgress")
            .await
            .1
    }

    /// GETs `url` every 10 ms while `running(status, body)` holds, and returns the first answer
    /// that is not running: a wait for the emulator, never a guess of its speed. Fails after
    /// `POLL_DEADLINE` (30 s).
    pub async fn poll(&self, url: &str, running: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
        let deadline = Instant::now() + POLL_DEADLINE;
        loop {
            let answer = self.get(url).await;
            if !running(answer.0, &answer.1) {
                return answer;
            }
            assert!(
                Instant::now() < deadline,
                "{url} still running after {POLL_DEADLINE:?}: {answer:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// PUTs `enablevmaccess` without settings (VMAccess then only resets Remote Desktop).
    pub async fn put_rdp_reset(&self, tag: Option<&str>) -> Response {
        self.put_vmaccess("enablevmaccess", json!({}), json!({}), tag)
            .await
    }

    /// Runs `enablevmaccess` without settings to the end.
    pub async fn run_rdp_reset(&self, tag: Option<&str>) -> Value {
        self.run_vmaccess(json!({}), json!({}), tag).await
    }

    /// PUTs VMAccess and waits for the operation.
    pub async fn run_vmaccess(
        &self,
        settings: Value,
        protected: Value,
        tag: Option<&str>,
    ) -> Value {
        let response = self
            .put_vmaccess("enablevmaccess", settings, protected, tag)
            .await;
        self.wait(response).await
    }
}

/// The test VM's seed: a running Windows VM with one administrator `azureadmin` /
/// `Old-Passw0rd!`; change fields with `VmSeed { …, ..seed() }`.
pub fn seed() -> VmSeed {
    VmSeed::windows([AccountSeed::new("azureadmin", "Old-Passw0rd!")])
}

/// How long a poll waits for the emulator before the test fails: generous, because a loaded
/// machine is slow, and harmless, because a poll returns as soon as the condition holds.
const POLL_DEADLINE: Duration = Duration::from_secs(30);

/// Sends a request; returns the status and the JSON body (`null` when it is empty).
pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = match text.as_str() {
        "" => Value::Null,
        text => serde_json::from_str(text).expect("a JSON body"),
    };
    (status, body)
}

/// Asserts an Azure error answer: `status` and `{"error": {"code": code}}`; returns the body.
pub async fn expect_error(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("JSON error");
    assert_eq!(body["error"]["code"], code, "{body}");
    body
}

/// The items of an ARM list (`{"value": […]}`).
pub fn items(list: &Value) -> &[Value] {
    list["value"].as_array().expect("a list's value")
}

/// The `field` of every item of an ARM list, in order.
pub fn item_fields<'v>(list: &'v Value, field: &str) -> Vec<&'v str> {
    items(list)
        .iter()
        .map(|item| item[field].as_str().expect("a text field"))
        .collect()
}

/// The item of an ARM list named `name`.
pub fn item_named<'v>(list: &'v Value, name: &str) -> &'v Value {
    items(list)
        .iter()
        .find(|item| item["name"] == name)
        .unwrap_or_else(|| panic!("{name} listed in {list}"))
}

/// The first value of header `name`, if any.
pub fn header<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Every value of header `name`, in order.
pub fn header_values(response: &Response, name: &str) -> Vec<String> {
    response
        .headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect()
}

/// VMAccess settings and protected settings that reset `username`'s password.
pub fn credentials(username: &str, password: &str) -> (Value, Value) {
    (json!({"UserName": username}), json!({"Password": password}))
}

/// An OpenSSH `ssh-ed25519` public key line, the same for the same `label` (also its comment).
pub fn ed25519_key(label: &str) -> String {
    let mut blob = Vec::new();
    for part in [b"ssh-ed25519".as_slice(), &key_bytes(label)] {
        blob.extend_from_slice(&u32::try_from(part.len()).expect("short").to_be_bytes());
        blob.extend_from_slice(part);
    }
    use base64::Engine;
    let blob = base64::engine::general_purpose::STANDARD.encode(blob);
    format!("ssh-ed25519 {blob} {label}")
}

/// 32 bytes that depend on `label`.
fn key_bytes(label: &str) -> Vec<u8> {
    let seed: Vec<u8> = label.bytes().chain(*b"-key").collect();
    (0..32u8)
        .map(|i| seed[usize::from(i) % seed.len()].wrapping_mul(31) ^ i)
        .collect()
}
