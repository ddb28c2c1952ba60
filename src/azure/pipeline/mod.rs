//! The HTTP pipeline: the only code that sends requests to ARM.
//!
//! A request passes through a chain of `azure_core` [`Policy`]s, each small and testable with a
//! fake transport:
//!
//! 1. [`request_id::RequestId`] — one `x-ms-client-request-id` per call;
//! 2. [`retry::Retry`] — retries (408/429/5xx/retryable 409/connection failures), `Retry-After`,
//!    the gate for writes and listing reads ([`super::pacing::Pacer`]) and, for
//!    long-running-operation status reads, the poll schedule: a status read that says "still
//!    running" is retried on the poll schedule by the same loop, so polling and retrying are one
//!    mechanism;
//! 3. [`auth::Auth`] — bearer token, re-acquired once when ARM calls it stale;
//! 4. [`logging::Logging`] — one debug line per exchange, trace bodies with secrets redacted;
//! 5. [`send::Send`] — the exchange itself over the shared `reqwest` client, under the
//!    operation's deadline and cancel token.
//!
//! What comes from `azure_core`: the `Policy` trait and its chaining (`next`), `Context` (which
//! carries our [`Call`]: deadline, cancel token, the sentence for messages, poll plan), `Request`,
//! `AsyncRawResponse`. What does not: `azure_core`'s own `RetryPolicy`/`RetryOptions` and
//! `BearerTokenCredentialPolicy`, because they cannot honour a deadline-bounded `Retry-After` of any
//! length with a typed "throttled past your timeout" error, retry ARM's retryable 409s, share a
//! gate across operations, or poll on a schedule; and its reqwest transport, because the
//! certificate/connect/in-flight distinction of a failure (was anything sent?) would be lost.
//! Errors travel through the chain as `azure_core::Error` wrapping our [`AzureError`]
//! (kind `Io` = a retryable connection failure), and are unwrapped at the end.

mod auth;
pub(super) mod logging;
mod request_id;
mod retry;
mod send;

use std::sync::Arc;
use std::time::Duration;

use azure_core::error::ErrorKind;
use azure_core::http::headers::Headers;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{AsyncRawResponse, Context, Request};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;

use super::cloud::CloudEndpoints;
use super::context::OpContext;
use super::credentials::TokenSource;
use super::error::AzureError;
use super::lro::{PollPolicy, PollTarget};
use super::pacing::Pacer;

pub use retry::RetryPolicy;
pub(crate) use retry::parse_retry_after;

/// A request to send. Bodies are JSON.
pub(crate) struct ArmRequest {
    pub(crate) method: reqwest::Method,
    pub(crate) url: reqwest::Url,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) handling: Handling,
}

/// How the pipeline treats a request; every policy sees it in the [`Call`].
#[derive(Debug, Clone)]
pub(crate) struct Handling {
    /// Whether to attach the bearer token (false for the metadata endpoint).
    pub(crate) authenticated: bool,
    /// Completes "timed out after Ns while …".
    pub(crate) what: String,
    /// A read of a listing, which can come by the hundred: it waits for the subscription's read
    /// budget at the pacer, as writes wait for theirs.
    pub(crate) bulk_read: bool,
    /// Set for the status reads of a long-running operation: the pipeline polls until the
    /// operation is no longer running.
    pub(crate) poll: Option<PollPlan>,
}

impl Handling {
    /// An authenticated resource-manager request, neither a listing's read nor a status poll.
    pub(crate) fn arm(what: String) -> Handling {
        Handling {
            authenticated: true,
            what,
            bulk_read: false,
            poll: None,
        }
    }

    /// A read of a listing.
    pub(crate) fn listing(what: String) -> Handling {
        Handling {
            bulk_read: true,
            ..Handling::arm(what)
        }
    }
}

/// How to poll a long-running operation's status URL.
#[derive(Debug, Clone)]
pub(crate) struct PollPlan {
    pub(crate) target: PollTarget,
    pub(crate) schedule: PollPolicy,
    /// When Azure accepted the operation (the schedule grows with the time since).
    pub(crate) accepted_at: Instant,
    /// `Retry-After` of the initial response.
    pub(crate) retry_after: Option<Duration>,
}

/// What every policy may need to know about the call, carried in the `azure_core` [`Context`].
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) op: OpContext,
    pub(crate) cloud: Option<CloudEndpoints>,
    pub(crate) handling: Handling,
}

/// A final response: success, or an error status that is not retried (or ran out of retries).
#[derive(Debug)]
pub(crate) struct ArmResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl ArmResponse {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Decodes a success body.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, AzureError> {
        serde_json::from_slice(&self.body).map_err(|e| AzureError::UnexpectedResponse {
            status: self.status.as_u16(),
            detail: format!("cannot decode {what}: {e}"),
        })
    }

    /// The error for this response if it is not a success.
    pub(crate) fn error_for_status(self, resource: &str) -> Result<ArmResponse, AzureError> {
        if self.status.is_success() {
            Ok(self)
        } else {
            Err(AzureError::from_response(
                self.status.as_u16(),
                &self.body,
                resource,
            ))
        }
    }
}

/// The policy chain. Cheap to share; one per [`super::ArmClient`].
pub(crate) struct Pipeline {
    policies: Vec<Arc<dyn Policy>>,
}

impl Pipeline {
    /// The production chain over the shared HTTPS client.
    pub(crate) fn new(
        http: reqwest::Client,
        tokens: Arc<TokenSource>,
        retry: RetryPolicy,
        pacer: Arc<Pacer>,
    ) -> Pipeline {
        Pipeline::with_transport(tokens, retry, pacer, policy(send::Send::new(http)))
    }

    /// The chain with another last policy (tests use a fake transport).
    pub(crate) fn with_transport(
        tokens: Arc<TokenSource>,
        retry: RetryPolicy,
        pacer: Arc<Pacer>,
        transport: Arc<dyn Policy>,
    ) -> Pipeline {
        Pipeline {
            policies: vec![
                policy(request_id::RequestId),
                policy(retry::Retry::new(retry, pacer)),
                policy(auth::Auth::new(tokens)),
                policy(logging::Logging),
                transport,
            ],
        }
    }

    pub(crate) async fn send(
        &self,
        req: ArmRequest,
        cloud: Option<&CloudEndpoints>,
        ctx: &OpContext,
    ) -> Result<ArmResponse, AzureError> {
        if req.handling.authenticated && cloud.is_none() {
            return Err(AzureError::Internal {
                detail: "an authenticated request without cloud endpoints".into(),
            });
        }
        let method = match req.method {
            reqwest::Method::GET => azure_core::http::Method::Get,
            reqwest::Method::PUT => azure_core::http::Method::Put,
            reqwest::Method::DELETE => azure_core::http::Method::Delete,
            reqwest::Method::POST => azure_core::http::Method::Post,
            reqwest::Method::PATCH => azure_core::http::Method::Patch,
            ref other => {
                return Err(AzureError::Internal {
                    detail: format!("unsupported HTTP method {other}"),
                });
            }
        };
        let mut request = Request::new(req.url, method);
        request.insert_header("accept", "application/json");
        if let Some(body) = req.body {
            request.insert_header("content-type", "application/json");
            request.set_body(body);
        }
        let context = Context::new().with_value(Call {
            op: ctx.clone(),
            cloud: cloud.cloned(),
            handling: req.handling,
        });
        let (first, rest) = self
            .policies
            .split_first()
            .ok_or_else(|| AzureError::Internal {
                detail: "empty pipeline".into(),
            })?;
        let response = first
            .send(&context, &mut request, rest)
            .await
            .map_err(into_azure)?;
        let (status, headers, body) = buffer(response).await.map_err(into_azure)?;
        Ok(ArmResponse {
            status,
            headers: to_header_map(&headers),
            body,
        })
    }
}

/// The call's details from the context; every request sent by [`Pipeline::send`] has them.
pub(crate) fn call<'a>(ctx: &'a Context<'_>) -> azure_core::Result<&'a Call> {
    ctx.value::<Call>().ok_or_else(|| {
        wrap(AzureError::Internal {
            detail: "a request without call context".into(),
        })
    })
}

/// Our error inside `azure_core`'s, to travel through the chain.
pub(crate) fn wrap(e: AzureError) -> azure_core::Error {
    azure_core::Error::new(ErrorKind::Other, e)
}

/// A connection failure worth retrying.
pub(crate) fn wrap_retryable(e: AzureError) -> azure_core::Error {
    azure_core::Error::new(ErrorKind::Io, e)
}

/// Our error back out of `azure_core`'s.
pub(crate) fn into_azure(e: azure_core::Error) -> AzureError {
    match e.into_downcast::<AzureError>() {
        Ok(e) => e,
        Err(e) => AzureError::Internal {
            detail: format!("pipeline error: {e}"),
        },
    }
}

/// Reads the whole body (the transport already buffered it, so this does not wait).
pub(crate) async fn buffer(
    response: AsyncRawResponse,
) -> azure_core::Result<(StatusCode, Headers, Vec<u8>)> {
    let (status, headers, body) = response.deconstruct();
    let bytes = body.collect().await?;
    let status = StatusCode::from_u16(u16::from(status)).map_err(|e| {
        wrap(AzureError::Internal {
            detail: format!("invalid status: {e}"),
        })
    })?;
    Ok((status, headers, bytes.to_vec()))
}

/// Rebuilds a buffered response.
pub(crate) fn rebuild(status: StatusCode, headers: Headers, body: Vec<u8>) -> AsyncRawResponse {
    AsyncRawResponse::from_bytes(status.as_u16().into(), headers, body)
}

/// `azure_core` headers (one value per name; repeated headers arrive joined with ", ").
pub(crate) fn to_header_map(headers: &Headers) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers.iter() {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_str(value.as_str()),
        ) {
            map.append(n, v);
        }
    }
    map
}

pub(crate) fn header<'a>(headers: &'a Headers, name: &'static str) -> Option<&'a str> {
    headers.get_optional_str(&name.into())
}

#[cfg(test)]
pub(crate) mod fake;

/// One of our policies: `azure_core`'s [`Policy`] with the context and the rest of the chain
/// handed over together as [`Next`], since every one of them needs the [`Call`] or passes the
/// request on. [`policy`] puts one in the chain.
#[async_trait::async_trait]
pub(crate) trait Step: std::fmt::Debug + Send + Sync {
    async fn send(&self, request: &mut Request, next: Next<'_, '_>) -> PolicyResult;
}

/// What follows a [`Step`] in the chain.
pub(crate) struct Next<'a, 'c> {
    ctx: &'a Context<'c>,
    rest: &'a [Arc<dyn Policy>],
}

impl Next<'_, '_> {
    /// The call's details (see [`call`]).
    pub(crate) fn call(&self) -> azure_core::Result<&Call> {
        call(self.ctx)
    }

    /// Passes the request to the rest of the chain.
    pub(crate) async fn send(&self, request: &mut Request) -> PolicyResult {
        let (first, rest) = self.rest.split_first().ok_or_else(|| {
            wrap(AzureError::Internal {
                detail: "a pipeline without a transport".into(),
            })
        })?;
        first.send(self.ctx, request, rest).await
    }
}

/// A [`Step`] as the `azure_core` [`Policy`] the chain holds.
fn policy(step: impl Step + 'static) -> Arc<dyn Policy> {
    #[derive(Debug)]
    struct AsPolicy<S>(S);

    #[async_trait::async_trait]
    impl<S: Step> Policy for AsPolicy<S> {
        async fn send(
            &self,
            ctx: &Context,
            request: &mut Request,
            next: &[Arc<dyn Policy>],
        ) -> PolicyResult {
            self.0.send(request, Next { ctx, rest: next }).await
        }
    }

    Arc::new(AsPolicy(step))
}

#[cfg(test)]
mod tests;
