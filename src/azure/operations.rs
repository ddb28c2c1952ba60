//! `ArmClient`: the operations the resource code calls.
//!
//! Each operation builds a URL and maybe a body, sends it through the pipeline, and decodes a
//! typed model; retries, throttling, auth and logging happen in `pipeline`. Building the client
//! makes no network call: the cloud metadata (custom clouds) and the token are fetched on first
//! use and shared by every clone of the client.
//!
//! Imports every module below it (`pipeline`, `pacing`, `lro`, `credentials`, …) and is imported
//! only by `listing` and by `mod.rs`'s re-exports.

use std::sync::Arc;

use reqwest::{Method, Url};
use tokio::sync::OnceCell;

use super::cloud::{CloudEndpoints, metadata_url};
use super::context::OpContext;
use super::credentials::{CredentialPlan, TokenSource};
use super::error::{AzureError, CloudError};
use super::ids::{ExtensionId, ExtensionTarget, ModelExtensionId, ScaleSetId, VirtualMachineId};
use super::lro::{PendingOperation, PollOutcome, PollPolicy, interpret};
use super::models::{ExtensionPut, ExtensionWire, ScaleSet, VirtualMachine, VmExtension};
use super::pacing::Pacer;
use super::pipeline::{ArmRequest, Handling, Pipeline, PollPlan, RetryPolicy};
use super::response::ArmResponse;
use super::setting::Setting;
use super::settings::AzureSettings;
use super::transport::build_http_client;

/// The Compute API version every call uses: the one whose published definitions and examples
/// (`spec/`) the provider's types and requests are checked against; newer stable versions are
/// in `spec/api-version-allow.tsv` with the reason the provider has not moved.
pub(crate) const COMPUTE_API_VERSION: &str = "2025-04-01";

enum CloudSource {
    Known(CloudEndpoints),
    Metadata(String),
}

struct Inner {
    subscription_id: String,
    cloud_source: CloudSource,
    cloud: OnceCell<CloudEndpoints>,
    pipeline: Pipeline,
    tokens: Arc<TokenSource>,
    poll: PollPolicy,
}

/// Client for the Azure Resource Manager calls of the provider. Cheap to clone; clones share the
/// HTTP connection pool, the cloud metadata and the token cache.
#[derive(Clone)]
pub struct ArmClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("subscription_id", &self.inner.subscription_id)
            .field("auth", &self.inner.tokens.method())
            .finish_non_exhaustive()
    }
}

/// Options beyond [`AzureSettings`]: extra trusted roots, retry and poll tuning.
#[derive(Debug, Clone)]
pub struct ArmClientBuilder {
    settings: AzureSettings,
    extra_root_pems: Vec<String>,
    retry: RetryPolicy,
    poll: PollPolicy,
}

impl ArmClientBuilder {
    /// Trusts the PEM certificates in `pem` in addition to the system roots and SSL_CERT_FILE
    /// (for callers that must not touch the process-wide environment, such as parallel tests).
    pub fn with_extra_root_pem(mut self, pem: impl Into<String>) -> ArmClientBuilder {
        self.extra_root_pems.push(pem.into());
        self
    }

    /// How requests are retried (tests shorten the waits).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> ArmClientBuilder {
        self.retry = retry;
        self
    }

    /// How long-running operations are polled.
    pub fn with_poll_policy(mut self, poll: PollPolicy) -> ArmClientBuilder {
        self.poll = poll;
        self
    }

    /// Validates the settings and chooses the credential. Makes no network call.
    pub fn build(self) -> Result<ArmClient, AzureError> {
        let s = &self.settings;
        let subscription_id = s
            .subscription_id
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(AzureError::Configuration {
                setting: Setting::SubscriptionId,
                message: "a subscription ID is required".into(),
            })?
            .to_owned();
        let plan = CredentialPlan::choose(s)?;
        let cloud_source = match s.metadata_host.as_deref().map(str::trim) {
            Some(host) if !host.is_empty() => CloudSource::Metadata(host.to_owned()),
            _ => CloudSource::Known(CloudEndpoints::for_environment(s.environment)),
        };
        let http = build_http_client(&self.extra_root_pems)?;
        let tokens = Arc::new(TokenSource::new(plan, http.clone()));
        tracing::debug!(auth = tokens.method(), "Azure client configured");
        Ok(ArmClient {
            inner: Arc::new(Inner {
                subscription_id,
                cloud_source,
                cloud: OnceCell::new(),
                pipeline: Pipeline::new(
                    http,
                    tokens.clone(),
                    self.retry,
                    Arc::new(Pacer::default()),
                ),
                tokens,
                poll: self.poll,
            }),
        })
    }
}

impl ArmClient {
    /// Validates the settings and chooses the credential. Makes no network call.
    pub fn new(settings: AzureSettings) -> Result<ArmClient, AzureError> {
        ArmClient::builder(settings).build()
    }

    /// A client with non-default trust, retries or polling.
    pub fn builder(settings: AzureSettings) -> ArmClientBuilder {
        ArmClientBuilder {
            settings,
            extra_root_pems: Vec::new(),
            retry: RetryPolicy::default(),
            poll: PollPolicy::default(),
        }
    }

    /// The subscription requests go to.
    pub fn subscription_id(&self) -> &str {
        &self.inner.subscription_id
    }

    /// The cloud's endpoints; for a custom cloud, discovered once (concurrent first callers share
    /// the one request).
    pub(crate) async fn cloud(&self, ctx: &OpContext) -> Result<&CloudEndpoints, AzureError> {
        match &self.inner.cloud_source {
            CloudSource::Known(c) => Ok(c),
            CloudSource::Metadata(host) => {
                self.inner
                    .cloud
                    .get_or_try_init(|| self.discover(host, ctx))
                    .await
            }
        }
    }

    async fn discover(&self, host: &str, ctx: &OpContext) -> Result<CloudEndpoints, AzureError> {
        let bad_host = |detail: String| AzureError::Configuration {
            setting: Setting::MetadataHost,
            message: detail,
        };
        let url = Url::parse(&metadata_url(host))
            .map_err(|e| bad_host(format!("{host:?} is not a valid host name: {e}")))?;
        let req = ArmRequest {
            method: Method::GET,
            url,
            body: None,
            handling: Handling {
                authenticated: false,
                ..Handling::arm(format!("reading the cloud metadata from {host}"))
            },
        };
        let resp = self.inner.pipeline.send(req, None, ctx).await?;
        if !resp.status.is_success() {
            return Err(bad_host(format!(
                "the metadata endpoint of {host} answered HTTP {}",
                resp.status.as_u16()
            )));
        }
        let cloud = CloudEndpoints::from_metadata(&resp.body)?;
        tracing::debug!(resource_manager = %cloud.resource_manager, authority_host = %cloud.authority_host, scope = %cloud.token_scope, "discovered custom cloud");
        Ok(cloud)
    }

    /// `https://{arm}/{segments…}?api-version=…[&$expand=instanceView]`.
    pub(super) fn url(
        cloud: &CloudEndpoints,
        segments: &[&str],
        expand: bool,
    ) -> Result<Url, AzureError> {
        let mut url =
            Url::parse(&cloud.resource_manager).map_err(|e| AzureError::Configuration {
                setting: Setting::MetadataHost,
                message: format!(
                    "the resource manager endpoint {:?} is not a URL: {e}",
                    cloud.resource_manager
                ),
            })?;
        url.path_segments_mut()
            .map_err(|_| AzureError::Configuration {
                setting: Setting::MetadataHost,
                message: format!(
                    "the resource manager endpoint {:?} cannot have a path",
                    cloud.resource_manager
                ),
            })?
            .pop_if_empty()
            .extend(segments);
        url.query_pairs_mut()
            .append_pair("api-version", COMPUTE_API_VERSION);
        if expand {
            url.query_pairs_mut().append_pair("$expand", "instanceView");
        }
        Ok(url)
    }

    /// Sends one request to the resource manager.
    pub(super) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        handling: Handling,
        ctx: &OpContext,
    ) -> Result<ArmResponse, AzureError> {
        let cloud = self.cloud(ctx).await?;
        let req = ArmRequest {
            method,
            url,
            body,
            handling,
        };
        self.inner.pipeline.send(req, Some(cloud), ctx).await
    }

    /// Sends `method` to extension `id` (a `GET` with its instance view); `doing` starts the
    /// sentence of messages ("reading", …). Returns the response and the name errors use.
    async fn on_extension(
        &self,
        method: Method,
        id: &ExtensionId,
        body: Option<Vec<u8>>,
        doing: &str,
        ctx: &OpContext,
    ) -> Result<(ArmResponse, String), AzureError> {
        let expand = method == Method::GET;
        let url = Self::url(self.cloud(ctx).await?, &id.path_segments(), expand)?;
        let resource = format!("VM extension {id}");
        let handling = Handling::arm(format!("{doing} {resource}"));
        let resp = self.send(method, url, body, handling, ctx).await?;
        Ok((resp, resource))
    }

    /// [`Self::on_extension`] without a body, `None` when the extension (or its VM) is not
    /// there: a 404 that is not about a missing subscription or group, or the 204 ARM answers to
    /// a DELETE of something that does not exist. Any other failure is an error.
    async fn on_existing_extension(
        &self,
        method: Method,
        id: &ExtensionId,
        doing: &str,
        ctx: &OpContext,
    ) -> Result<Option<ArmResponse>, AzureError> {
        let (resp, resource) = self.on_extension(method, id, None, doing, ctx).await?;
        match resp.status.as_u16() {
            204 => Ok(None),
            404 if !is_missing_scope(&resp) => Ok(None),
            _ => resp.error_for_status(&resource).map(Some),
        }
    }

    /// `GET` the VM with its instance view (power state, agent, extensions).
    pub async fn get_virtual_machine(
        &self,
        id: &VirtualMachineId,
        ctx: &OpContext,
    ) -> Result<VirtualMachine, AzureError> {
        let url = Self::url(self.cloud(ctx).await?, &id.path_segments(), true)?;
        let resource = format!("virtual machine {id}");
        let handling = Handling::arm(format!("reading {resource}"));
        self.send(Method::GET, url, None, handling, ctx)
            .await?
            .error_for_status(&resource)?
            .json("the virtual machine")
    }

    /// `GET` the extension with its instance view; `None` when it or its VM does not exist.
    pub async fn get_extension(
        &self,
        id: &ExtensionId,
        ctx: &OpContext,
    ) -> Result<Option<VmExtension>, AzureError> {
        self.on_existing_extension(Method::GET, id, "reading", ctx)
            .await?
            .map(|resp| {
                resp.json::<ExtensionWire>("the VM extension")
                    .map(Into::into)
            })
            .transpose()
    }

    /// Starts the PUT of the VMAccess extension. The returned operation must be passed to
    /// [`ArmClient::wait`].
    pub async fn begin_put_extension(
        &self,
        id: &ExtensionId,
        body: &ExtensionPut,
        ctx: &OpContext,
    ) -> Result<PendingOperation, AzureError> {
        let payload = encode(body)?;
        let (resp, resource) = self
            .on_extension(Method::PUT, id, Some(payload), "writing", ctx)
            .await?;
        let resp = resp.error_for_status(&resource)?;
        Ok(PendingOperation::from_initial(
            &resp,
            id.clone(),
            "creating or updating",
        ))
    }

    /// `GET` the scale set (its model: orchestration, upgrade policy, OS, model extensions).
    pub async fn get_scale_set(
        &self,
        id: &ScaleSetId,
        ctx: &OpContext,
    ) -> Result<ScaleSet, AzureError> {
        let url = Self::url(self.cloud(ctx).await?, &id.path_segments(), false)?;
        let resource = format!("virtual machine scale set {id}");
        let handling = Handling::arm(format!("reading {resource}"));
        self.send(Method::GET, url, None, handling, ctx)
            .await?
            .error_for_status(&resource)?
            .json("the virtual machine scale set")
    }

    /// Starts the PUT of an extension of a scale set's model (the child resource, which leaves
    /// the model's other extensions as they are). Pass the result to [`ArmClient::wait`].
    pub async fn begin_put_model_extension(
        &self,
        id: &ModelExtensionId,
        body: &ExtensionPut,
        ctx: &OpContext,
    ) -> Result<PendingOperation, AzureError> {
        let payload = encode(body)?;
        let url = Self::url(self.cloud(ctx).await?, &id.path_segments(), false)?;
        let resource = format!("scale set model extension {id}");
        let handling = Handling::arm(format!("writing {resource}"));
        let resp = self
            .send(Method::PUT, url, Some(payload), handling, ctx)
            .await?
            .error_for_status(&resource)?;
        Ok(PendingOperation::from_initial(
            &resp,
            ExtensionTarget::Model(id.clone()),
            "creating or updating",
        ))
    }

    /// Starts the DELETE of an extension; `None` when it is already gone.
    pub async fn begin_delete_extension(
        &self,
        id: &ExtensionId,
        ctx: &OpContext,
    ) -> Result<Option<PendingOperation>, AzureError> {
        let started = self
            .on_existing_extension(Method::DELETE, id, "deleting", ctx)
            .await?;
        Ok(started.map(|resp| {
            let op = PendingOperation::from_initial(&resp, id.clone(), "deleting");
            if op.is_done() && resp.status.as_u16() == 200 {
                PendingOperation::done(id.clone(), "deleting")
            } else {
                op
            }
        }))
    }

    /// Polls `op` to a terminal state. The pipeline reads the status URL on the poll schedule
    /// (with the same retries as every request) until the operation no longer runs; a failure
    /// here is about an operation Azure accepted, so it "may have reached Azure". On
    /// Failed/Canceled the extension's instance view is read so that the error carries the
    /// in-guest reason.
    pub async fn wait(&self, op: PendingOperation, ctx: &OpContext) -> Result<(), AzureError> {
        self.wait_inner(op, ctx)
            .await
            .map_err(AzureError::while_sending)
    }

    async fn wait_inner(&self, op: PendingOperation, ctx: &OpContext) -> Result<(), AzureError> {
        let Some(raw_url) = op.status_url() else {
            return Ok(());
        };
        let cloud = self.cloud(ctx).await?;
        let url = self.status_url(cloud, raw_url)?;
        let req = ArmRequest {
            method: Method::GET,
            url,
            body: None,
            handling: Handling {
                poll: Some(PollPlan {
                    target: op.target.clone(),
                    schedule: self.inner.poll,
                    accepted_at: op.accepted_at,
                    retry_after: op.retry_after,
                }),
                ..Handling::arm(format!(
                    "waiting for Azure to finish {} {}",
                    op.action, op.target_resource
                ))
            },
        };
        let resp = self.inner.pipeline.send(req, Some(cloud), ctx).await?;
        if !resp.status.is_success() {
            if location_reports_failure(&op, &resp) {
                // ARM's Location protocol reports a failed operation as the final response's
                // 4xx with the operation's error body.
                let error = CloudError::parse(&resp.body).unwrap_or_default();
                return Err(self
                    .operation_failed(&op, error.code, error.message, ctx)
                    .await);
            }
            return Err(resp
                .error_for_status("the operation status")
                .err()
                .unwrap_or_else(|| AzureError::Internal {
                    detail: "a failed status read without an error".into(),
                }));
        }
        match interpret(&op.target, &resp)? {
            PollOutcome::InProgress => Err(AzureError::Internal {
                detail: "the status read ended while the operation still runs".into(),
            }),
            PollOutcome::Succeeded => {
                tracing::debug!(extension = %op.target_resource, elapsed_ms = ctx.elapsed().as_millis(), "operation succeeded");
                Ok(())
            }
            PollOutcome::Failed { code, message } => {
                Err(self.operation_failed(&op, code, message, ctx).await)
            }
        }
    }

    /// The error for a Failed/Canceled operation, with the extension's instance-view messages.
    async fn operation_failed(
        &self,
        op: &PendingOperation,
        code: String,
        message: String,
        ctx: &OpContext,
    ) -> AzureError {
        // A model's extension has no instance view: its failure is the operation's own.
        let statuses = match op.target_resource.machine() {
            None => Vec::new(),
            Some(id) => match self.get_extension(id, ctx).await {
                Ok(Some(ext)) => ext.status_messages(),
                Ok(None) => Vec::new(),
                Err(e) => {
                    tracing::debug!(error = %e, "could not read the extension after the failure");
                    Vec::new()
                }
            },
        };
        AzureError::ExtensionFailed {
            code,
            message,
            statuses,
        }
    }

    /// The status URL, accepted only on the ARM endpoint's origin so that the bearer token is
    /// never sent to another host.
    fn status_url(&self, cloud: &CloudEndpoints, raw: &str) -> Result<Url, AzureError> {
        arm_origin_url(
            &cloud.resource_manager,
            raw,
            "the operation status URL",
            |detail| AzureError::Refused { detail },
        )
    }
}

/// The JSON of an extension PUT (the only place its protected settings are written out).
fn encode(body: &ExtensionPut) -> Result<Vec<u8>, AzureError> {
    serde_json::to_vec(&body.to_wire()).map_err(|e| AzureError::Internal {
        detail: format!("cannot encode the extension body: {e}"),
    })
}

/// Whether a non-2xx answer on a `Location` URL is the operation's own failure rather than a
/// failed status read: a client error carrying an ARM error body, excluding the statuses that are
/// about the read itself (auth, missing operation, throttling).
fn location_reports_failure(op: &PendingOperation, resp: &ArmResponse) -> bool {
    matches!(op.target, super::lro::PollTarget::Location(_))
        && resp.status.is_client_error()
        && !matches!(resp.status.as_u16(), 401 | 403 | 404 | 408 | 429)
        && CloudError::parse(&resp.body).is_some()
}

/// A 404 about the subscription (or a wrong endpoint) is an error, not "resource absent".
fn is_missing_scope(resp: &ArmResponse) -> bool {
    CloudError::parse(&resp.body).is_some_and(|e| {
        e.code.eq_ignore_ascii_case("SubscriptionNotFound")
            || e.code.eq_ignore_ascii_case("InvalidSubscriptionId")
    })
}

/// `raw` (a link ARM handed us) as a URL, accepted only on the resource manager's origin so that
/// the bearer token is never sent to another host; `bad` makes the error of a refused one.
pub(super) fn arm_origin_url(
    resource_manager: &str,
    raw: &str,
    what: &str,
    bad: impl Fn(String) -> AzureError,
) -> Result<Url, AzureError> {
    let url = Url::parse(raw).map_err(|e| bad(format!("{what} is invalid: {e}")))?;
    let arm = Url::parse(resource_manager)
        .map_err(|e| bad(format!("the resource manager endpoint is invalid: {e}")))?;
    if url.origin() != arm.origin() {
        return Err(bad(format!(
            "{what} points to {}, not to the resource manager {}; refusing to send credentials there",
            url.host_str().unwrap_or("?"),
            arm.host_str().unwrap_or("?")
        )));
    }
    Ok(url)
}
