//! A fake transport for unit tests of the policies, the gate and the poll schedule: a
//! scripted ARM that answers from a closure and records what it was sent, on tokio's clock (the
//! tests run with time paused, so minutes of backoff take milliseconds).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::http::headers::Headers;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{Context, Request};
use reqwest::StatusCode;
use tokio::time::Instant;

use super::super::context::OpContext;
use super::super::credentials::TokenSource;
use super::super::error::AzureError;
use super::super::lro::{PollPolicy, PollTarget};
use super::super::pacing::Pacer;
use super::step::{rebuild, wrap, wrap_retryable};
use super::{ArmRequest, Handling, Pipeline, PollPlan, RetryPolicy};

/// One request as the fake saw it.
#[derive(Debug, Clone)]
#[allow(dead_code)] // method and url show in assertion messages
pub(crate) struct Seen {
    pub(crate) method: &'static str,
    pub(crate) url: String,
    pub(crate) at: Instant,
    pub(crate) request_id: Option<String>,
    pub(crate) authorization: Option<String>,
}

/// What the fake answers.
pub(crate) enum Reply {
    Status(u16, Vec<(&'static str, String)>, String),
    /// A connection failure before anything was sent.
    ConnectFailure,
}

impl Reply {
    /// A status with a JSON body and no headers.
    pub(crate) fn json(code: u16, body: &str) -> Reply {
        Reply::Status(code, vec![], body.into())
    }

    /// `200 {}`.
    pub(crate) fn ok() -> Reply {
        Reply::json(200, "{}")
    }

    /// A long-running operation's status read that says "still running".
    pub(crate) fn in_progress() -> Reply {
        Reply::json(200, r#"{"status":"InProgress"}"#)
    }

    /// `429` with `Retry-After: secs` and an ARM error `code`.
    pub(crate) fn throttled(secs: u64, code: &str) -> Reply {
        Reply::Status(
            429,
            vec![("retry-after", secs.to_string())],
            format!(r#"{{"code":"{code}","message":"m"}}"#),
        )
    }
}

type Handler = Box<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

pub(crate) struct Fake {
    handler: Handler,
    pub(crate) seen: Mutex<Vec<Seen>>,
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fake")
    }
}

impl Fake {
    /// `handler(request, index)` answers request number `index` (0-based).
    pub(crate) fn new(
        handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static,
    ) -> Arc<Fake> {
        Arc::new(Fake {
            handler: Box::new(handler),
            seen: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl Policy for Fake {
    async fn send(
        &self,
        _: &Context,
        request: &mut Request,
        _: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let get = |n: &'static str| {
            request
                .headers()
                .get_optional_str(&n.into())
                .map(str::to_owned)
        };
        let seen = Seen {
            method: request.method().as_str(),
            url: request.url().to_string(),
            at: Instant::now(),
            request_id: get("x-ms-client-request-id"),
            authorization: get("authorization"),
        };
        let index = {
            let mut all = self.seen.lock().map_err(|_| {
                wrap(AzureError::Internal {
                    detail: "poisoned".into(),
                })
            })?;
            all.push(seen.clone());
            all.len() - 1
        };
        // A network round trip.
        tokio::time::sleep(Duration::from_millis(5)).await;
        match (self.handler)(&seen, index) {
            Reply::Status(code, headers, body) => {
                let mut h = Headers::new();
                for (k, v) in headers {
                    h.insert(k, v);
                }
                let status = StatusCode::from_u16(code).map_err(|_| {
                    wrap(AzureError::Internal {
                        detail: "status".into(),
                    })
                })?;
                Ok(rebuild(status, h, body.into_bytes()))
            }
            Reply::ConnectFailure => Err(wrap_retryable(AzureError::Transport {
                message: "connection refused".into(),
                sent: false,
            })),
        }
    }
}

pub(crate) fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(100),
        max_delay: Duration::from_secs(2),
        max_retries: 3,
    }
}

/// The production chain with `fake` as transport, sharing `pacer`.
pub(crate) fn pipeline(fake: &Arc<Fake>, pacer: &Arc<Pacer>) -> Pipeline {
    Pipeline::with_transport(
        Arc::new(TokenSource::with_token("fake-token")),
        fast_retry(),
        pacer.clone(),
        fake.clone(),
    )
}

/// The chain with `fake` as transport and a gate of its own.
pub(crate) fn pipeline_alone(fake: &Arc<Fake>) -> Pipeline {
    pipeline(fake, &Arc::new(Pacer::default()))
}

pub(crate) fn ctx(secs: u64) -> OpContext {
    OpContext::new(
        Duration::from_secs(secs),
        tokio_util::sync::CancellationToken::new(),
    )
}

pub(crate) fn request(method: reqwest::Method, path: &str) -> ArmRequest {
    ArmRequest {
        method,
        url: reqwest::Url::parse(&format!("https://arm.test{path}"))
            .unwrap_or_else(|e| panic!("{e}")),
        body: None,
        handling: Handling {
            authenticated: false,
            ..Handling::arm("testing".into())
        },
    }
}

/// A status read of a long-running operation accepted just now, on the default poll schedule.
pub(crate) fn poll_request() -> ArmRequest {
    let mut req = request(reqwest::Method::GET, "/op");
    req.handling.poll = Some(PollPlan {
        target: PollTarget::AsyncOperation("u".into()),
        schedule: PollPolicy::default(),
        accepted_at: Instant::now(),
        retry_after: None,
    });
    req
}

pub(crate) const EXT: &str = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm{}/extensions/e?api-version=1";

/// The extension URL path of VM number `i`.
pub(crate) fn ext_path(i: usize) -> String {
    EXT.replace("{}", &i.to_string())
}
