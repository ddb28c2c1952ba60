//! The last policy: the exchange over the shared `reqwest` client, under the operation's
//! deadline and cancel token, with the whole body read. A failure says whether anything may have
//! reached Azure: connect and TLS failures did not, a connection lost mid-exchange may have.

use azure_core::http::Request;
use azure_core::http::headers::Headers;
use azure_core::http::policies::PolicyResult;
use reqwest::header::HeaderValue;

use super::super::error::AzureError;
use super::super::transport::{
    certificate_hint, describe_reqwest_error, is_certificate_error_chain,
};
use super::step::{Next, Step, rebuild, wrap, wrap_retryable};

#[derive(Debug)]
pub(crate) struct Send {
    http: reqwest::Client,
}

impl Send {
    pub(crate) fn new(http: reqwest::Client) -> Send {
        Send { http }
    }
}

#[async_trait::async_trait]
impl Step for Send {
    async fn send(&self, request: &mut Request, next: Next<'_, '_>) -> PolicyResult {
        let call = next.call()?;
        let method =
            reqwest::Method::from_bytes(request.method().as_str().as_bytes()).map_err(|e| {
                wrap(AzureError::Internal {
                    detail: format!("invalid method: {e}"),
                })
            })?;
        let mut builder = self.http.request(method, request.url().clone());
        for (name, value) in request.headers().iter() {
            let mut v = HeaderValue::from_str(value.as_str()).map_err(|_| {
                wrap(if name.as_str() == "authorization" {
                    AzureError::Authentication {
                        message:
                            "the access token contains characters not allowed in an HTTP header"
                                .into(),
                        hint: None,
                    }
                } else {
                    AzureError::Internal {
                        detail: format!("invalid value for header {}", name.as_str()),
                    }
                })
            })?;
            if name.as_str() == "authorization" {
                v.set_sensitive(true);
            }
            builder = builder.header(name.as_str(), v);
        }
        if let azure_core::http::Body::Bytes(b) = request.body() {
            if !b.is_empty() {
                builder = builder.body(b.to_vec());
            }
        }
        let exchange = async {
            let resp = builder.send().await?;
            let status = resp.status();
            let mut headers = Headers::new();
            for name in resp.headers().keys() {
                let joined = resp
                    .headers()
                    .get_all(name)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect::<Vec<_>>()
                    .join(", ");
                headers.insert(name.as_str().to_owned(), joined);
            }
            let body = resp.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, body.to_vec()))
        };
        let outcome = call
            .op
            .run(&call.handling.what, async { Ok(exchange.await) })
            .await
            .map_err(|e| wrap(e.while_sending()))?;
        match outcome {
            Ok((status, headers, body)) => Ok(rebuild(status, headers, body)),
            Err(e) if is_certificate_error_chain(&e) => Err(wrap(AzureError::Transport {
                message: certificate_hint(&describe_reqwest_error(&e)),
                sent: false,
            })),
            Err(e) => {
                let sent = !e.is_connect();
                let error = AzureError::Transport {
                    message: describe_reqwest_error(&e),
                    sent,
                };
                if e.is_connect()
                    || e.is_timeout()
                    || e.is_request()
                    || e.is_body()
                    || e.is_decode()
                {
                    Err(wrap_retryable(error))
                } else {
                    Err(wrap(error))
                }
            }
        }
    }
}
