//! What every policy of the chain is handed and shares: the [`Call`] (with the request's
//! [`Handling`]) carried in `azure_core`'s [`Context`], the [`Step`] trait with its [`Next`], and
//! the helpers that carry our [`AzureError`] through `azure_core`'s error and buffer a response.
//!
//! A leaf of the pipeline: the policies (`auth`, `logging`, `request_id`, `retry`, `send`) and
//! `mod.rs` import it; it imports no sibling and not `mod.rs`. Of the Azure layer it uses
//! `cloud`, `context`, `error` and `lro` (the poll plan's types).

use std::sync::Arc;
use std::time::Duration;

use azure_core::error::ErrorKind;
use azure_core::http::headers::Headers;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{AsyncRawResponse, Context, Request};
use reqwest::StatusCode;
use tokio::time::Instant;

use super::super::cloud::CloudEndpoints;
use super::super::context::OpContext;
use super::super::error::AzureError;
use super::super::lro::{PollPolicy, PollTarget};

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
    /// The cloud whose token `auth::Auth` attaches: present exactly when the request is
    /// authenticated ([`super::Pipeline::send`] refuses an authenticated request without one).
    pub(crate) cloud: Option<CloudEndpoints>,
    pub(crate) handling: Handling,
}

/// The call's details from the context; every request sent by [`super::Pipeline::send`] has them.
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
pub(super) fn policy(step: impl Step + 'static) -> Arc<dyn Policy> {
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
