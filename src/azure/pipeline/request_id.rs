//! `x-ms-client-request-id`: one per call, kept across retries so ARM's logs tie them together.

use azure_core::http::Request;
use azure_core::http::policies::PolicyResult;

use super::step::{Next, Step};

#[derive(Debug)]
pub(crate) struct RequestId;

#[async_trait::async_trait]
impl Step for RequestId {
    async fn send(&self, request: &mut Request, next: Next<'_, '_>) -> PolicyResult {
        request.insert_header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string());
        next.send(request).await
    }
}
