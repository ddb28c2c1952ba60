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
//!
//! Inside: [`step`] is the leaf every policy imports (the [`Call`], `Step`/`Next`, the error and
//! buffer helpers); this file builds the chain from the policies and sends. No policy imports
//! this file or another policy. Of the Azure layer the pipeline imports `cloud`, `context`,
//! `credentials`, `error`, `lro`, `pacing`, `response` and `transport`; of those only
//! `operations` and `listing`, above it, import the pipeline back.

mod auth;
pub(super) mod logging;
mod request_id;
mod retry;
mod send;
mod step;

use std::sync::Arc;

use azure_core::http::policies::Policy;
use azure_core::http::{Context, Request};

use super::cloud::CloudEndpoints;
use super::context::OpContext;
use super::credentials::TokenSource;
use super::error::AzureError;
use super::pacing::Pacer;
use super::response::{ArmResponse, to_header_map};
use step::{Call, buffer, into_azure, policy};

pub use retry::RetryPolicy;
pub(crate) use step::{Handling, PollPlan};

/// A request to send. Bodies are JSON.
pub(crate) struct ArmRequest {
    pub(crate) method: reqwest::Method,
    pub(crate) url: reqwest::Url,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) handling: Handling,
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
        // The one check that a token can be had: `Auth` attaches one exactly when `cloud` is set.
        let cloud = match (req.handling.authenticated, cloud) {
            (false, _) => None,
            (true, Some(cloud)) => Some(cloud.clone()),
            (true, None) => {
                return Err(AzureError::Internal {
                    detail: "an authenticated request without cloud endpoints".into(),
                });
            }
        };
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
            cloud,
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

#[cfg(test)]
pub(crate) mod fake;

#[cfg(test)]
mod tests;
