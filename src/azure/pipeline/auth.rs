//! The bearer token: acquired through the shared single-flight [`TokenSource`], attached to every
//! authenticated request, and thrown away and re-acquired once when ARM says it is stale.

use std::sync::Arc;

use azure_core::http::Request;
use azure_core::http::policies::PolicyResult;
use secrecy::ExposeSecret;

use super::super::credentials::TokenSource;
use super::super::error::CloudError;
use super::step::{Next, Step, buffer, rebuild, wrap};

pub(crate) struct Auth {
    tokens: Arc<TokenSource>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth")
    }
}

impl Auth {
    pub(crate) fn new(tokens: Arc<TokenSource>) -> Auth {
        Auth { tokens }
    }
}

#[async_trait::async_trait]
impl Step for Auth {
    async fn send(&self, request: &mut Request, next: Next<'_, '_>) -> PolicyResult {
        let call = next.call()?;
        let Some(cloud) = &call.cloud else {
            // Not authenticated (`Pipeline::send` sets the cloud for exactly those that are).
            return next.send(request).await;
        };
        let mut refreshed = false;
        loop {
            let token = call
                .op
                .run("acquiring an access token", self.tokens.token(cloud))
                .await
                .map_err(wrap)?;
            request.insert_header("authorization", format!("Bearer {}", token.expose_secret()));
            let (status, headers, body) = buffer(next.send(request).await?).await?;
            if status.as_u16() == 401
                && !refreshed
                && CloudError::parse(&body).is_some_and(|e| e.is_stale_token())
            {
                // Expired or revoked before our early refresh: fetch a new one, try once more.
                self.tokens.invalidate(&token).await;
                refreshed = true;
                continue;
            }
            return Ok(rebuild(status, headers, body));
        }
    }
}
