//! Test fixture: an in-process emulator and an HTTPS client that trusts its CA.
#![allow(dead_code)]

use std::time::Duration;

use reqwest::{Certificate, Client, Method, Response};
use serde_json::{Value, json};
use vm_emulator::{Emulator, EmulatorConfig, LroStyle, VmView};

pub const RG: &str = "rg-test";
pub const VM: &str = "vm-test";
pub const API: &str = "api-version=2025-04-01";

pub struct Fixture {
    pub emulator: Emulator,
    pub http: Client,
    pub token: String,
}

pub async fn start() -> Fixture {
    start_with(EmulatorConfig {
        operation_delay: Duration::from_millis(50),
        ..EmulatorConfig::default()
    })
    .await
}

pub async fn start_location_style() -> Fixture {
    start_with(EmulatorConfig {
        operation_delay: Duration::from_millis(50),
        lro_style: LroStyle::LocationOnly,
        ..EmulatorConfig::default()
    })
    .await
}

pub async fn start_with(config: EmulatorConfig) -> Fixture {
    let emulator = Emulator::start(config).await.expect("emulator starts");
    let ca = Certificate::from_pem(emulator.ca_pem().as_bytes()).expect("CA parses");
    let http = Client::builder()
        .tls_certs_only([ca])
        .build()
        .expect("client builds");
    let mut fixture = Fixture {
        emulator,
        http,
        token: String::new(),
    };
    fixture.token = fixture.fresh_token().await;
    fixture
}

impl Fixture {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.emulator.endpoint(), path)
    }

    pub fn sub(&self) -> String {
        self.emulator.config().subscription_id.clone()
    }

    pub fn vm_path(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/{VM}",
            self.sub()
        )
    }

    pub fn extension_url(&self, name: &str) -> String {
        self.url(&format!("{}/extensions/{name}?{API}", self.vm_path()))
    }

    pub fn token_url(&self) -> String {
        self.url(&format!(
            "/{}/oauth2/v2.0/token",
            self.emulator.config().tenant_id
        ))
    }

    pub async fn token_response(&self, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.token_url())
            .form(form)
            .send()
            .await
            .expect("token request")
    }

    pub async fn fresh_token(&self) -> String {
        let config = self.emulator.config();
        let response = self
            .token_response(&[
                ("grant_type", "client_credentials"),
                ("client_id", &config.client_id),
                ("client_secret", &config.client_secret),
                ("scope", "https://management.emulator.local/.default"),
            ])
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("token json");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// Sends an ARM request with the fixture's bearer token.
    pub async fn arm(&self, method: Method, url: &str, body: Option<Value>) -> Response {
        let mut request = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("ARM request")
    }

    pub async fn admin(&self, method: Method, path: &str, body: Value) -> Response {
        self.http
            .request(method, self.url(path))
            .json(&body)
            .send()
            .await
            .expect("admin request")
    }

    pub fn admin_vm_path(&self) -> String {
        format!("/_emulator/vms/{}/{RG}/{VM}", self.sub())
    }

    /// Seeds the test VM with one administrator `azureadmin` / `Old-Passw0rd!`.
    pub async fn seed_vm(&self, extra: Value) -> VmView {
        let mut seed = json!({"accounts": [{"name": "azureadmin", "password": "Old-Passw0rd!"}]});
        if let (Some(seed), Some(extra)) = (seed.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                seed.insert(k.clone(), v.clone());
            }
        }
        let response = self.admin(Method::PUT, &self.admin_vm_path(), seed).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("vm view")
    }

    pub async fn vm(&self) -> VmView {
        self.http
            .get(self.url(&self.admin_vm_path()))
            .send()
            .await
            .expect("admin get")
            .json()
            .await
            .expect("vm view")
    }

    pub async fn login(&self, username: &str, password: &str) -> (bool, Option<String>) {
        let body: Value = self
            .admin(
                Method::POST,
                &format!("{}/login", self.admin_vm_path()),
                json!({"username": username, "password": password}),
            )
            .await
            .json()
            .await
            .expect("login json");
        (
            body["ok"].as_bool().unwrap_or(false),
            body["reason"].as_str().map(str::to_string),
        )
    }

    /// PUTs a VMAccessAgent extension; returns the response.
    pub async fn put_vmaccess(
        &self,
        name: &str,
        settings: Value,
        protected: Value,
        tag: Option<&str>,
    ) -> Response {
        let mut properties = json!({
            "publisher": "Microsoft.Compute",
            "type": "VMAccessAgent",
            "typeHandlerVersion": "2.4",
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

    /// GETs `url` while `running(status, body)` holds, every 10 ms for at most 10 s, and returns
    /// the first answer that is not running: a wait for the emulator, never a guess of its speed.
    pub async fn poll(&self, url: &str, running: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
        for _ in 0..1000 {
            let response = self.arm(Method::GET, url, None).await;
            let status = response.status().as_u16();
            let text = response.text().await.expect("body");
            let body = serde_json::from_str(&text).unwrap_or(Value::Null);
            if !running(status, &body) {
                return (status, body);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{url} still running after 10 s");
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

pub fn credentials(username: &str, password: &str) -> (Value, Value) {
    (json!({"UserName": username}), json!({"Password": password}))
}
