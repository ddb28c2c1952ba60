//! Start-up configuration ([`EmulatorConfig`]) and the fixed values clients need to know:
//! the ARM audience, the tokens the CI identity endpoints accept, the default page size.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::admin_messages::{LroStyle, Seed};

/// The bearer token the GitHub Actions ID-token endpoint
/// (`/_emulator/oidc/github`) accepts unless changed through `/_emulator/config`.
pub const DEFAULT_GITHUB_REQUEST_TOKEN: &str = "emulator-github-request-token";

/// The `System.AccessToken` the Azure Pipelines OIDC endpoint
/// (`/_emulator/oidc/ado`) accepts.
pub const DEFAULT_PIPELINES_ACCESS_TOKEN: &str = "emulator-pipelines-access-token";
/// The `X-IDENTITY-HEADER` value the managed-identity endpoint
/// (`/_emulator/msi/token`) accepts.
pub const DEFAULT_IDENTITY_HEADER: &str = "emulator-identity-header";
/// The audience ARM tokens are issued for; the token scope is this plus `.default`.
pub const ARM_AUDIENCE: &str = "https://management.emulator.local/";

/// The environment variable that turns the spec log on: the directory it goes to
/// (see [`EmulatorConfig::spec_log`]).
pub const SPEC_LOG_ENV: &str = "VM_EMULATOR_SPEC_LOG";

/// VMs per list page unless configured otherwise (Compute does not document its page size).
pub const DEFAULT_LIST_PAGE_SIZE: usize = 50;

/// Start-up configuration.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The Entra tenant that issues tokens and owns the subscriptions.
    pub tenant_id: String,
    /// The application registered at start, with [`client_secret`](Self::client_secret).
    pub client_id: String,
    /// The secret of [`client_id`](Self::client_id); random unless set.
    pub client_secret: String,
    /// The subscription that always exists (and the default of seeded VMs).
    pub subscription_id: String,
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// How long a long-running extension operation takes.
    pub operation_delay: Duration,
    /// The `Retry-After` of operation responses and polls.
    pub poll_retry_after_secs: u64,
    /// How long issued access tokens are valid.
    pub token_lifetime: Duration,
    /// How clients are told to poll operations.
    pub lro_style: LroStyle,
    /// VMs to create at start.
    pub seed: Option<Seed>,
    /// VMs per page of `GET …/virtualMachines` (ARM pages with `nextLink`).
    pub list_page_size: usize,
    /// The directory of the spec log: every ARM request and its answer as JSON Lines, in a
    /// file of this instance's own (`<pid>-<n>.jsonl`), for `spec-check validate-log`. Off
    /// when `None`; by default [`SPEC_LOG_ENV`], if set and not empty.
    pub spec_log: Option<PathBuf>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            tenant_id: "00000000-0000-0000-0000-0000000000aa".into(),
            client_id: "00000000-0000-0000-0000-0000000000bb".into(),
            client_secret: format!("emulator-secret-{}", uuid::Uuid::new_v4().simple()),
            subscription_id: "00000000-0000-0000-0000-0000000000cc".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            operation_delay: Duration::from_millis(300),
            poll_retry_after_secs: 1,
            token_lifetime: Duration::from_secs(3600),
            lro_style: LroStyle::AsyncOperation,
            seed: None,
            list_page_size: DEFAULT_LIST_PAGE_SIZE,
            spec_log: std::env::var_os(SPEC_LOG_ENV)
                .filter(|dir| !dir.is_empty())
                .map(PathBuf::from),
        }
    }
}
