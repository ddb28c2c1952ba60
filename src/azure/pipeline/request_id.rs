//! `x-ms-client-request-id`: one per call, kept across retries so ARM's logs tie them together.

use std::sync::Arc;

use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{Context, Request};

#[derive(Debug)]
pub(crate) struct RequestId;

#[async_trait::async_trait]
impl Policy for RequestId {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        request.insert_header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string());
        super::next(ctx, request, next).await
    }
}
