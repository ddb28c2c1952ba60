//! List resources (protocol 6.10, Terraform 1.14+): `list` blocks of
//! `terraform query` find existing objects of a managed resource type and
//! hand back their identities, for import. A provider offers them through
//! [`Provider::list_resources`](super::Provider::list_resources); the type
//! name must be a managed resource type with an identity.

use tokio::sync::mpsc;

use super::diagnostics::Diagnostics;
use super::value::Object;

/// What a `list` block asks for.
#[derive(Debug, Clone)]
pub(crate) struct ListRequest {
    /// The `config` block; Terraform sends every attribute null when the
    /// block is absent.
    pub(crate) config: Object,
    /// Whether each result should carry the full resource object.
    pub(crate) include_resource_object: bool,
    /// How many results Terraform reads before it closes the stream.
    pub(crate) limit: i64,
}

/// One object found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListResult {
    /// In the resource type's identity schema; required for every result.
    pub(crate) identity: Object,
    pub(crate) display_name: String,
    /// The object in the resource schema, when the request asked for it.
    pub(crate) resource_object: Option<Object>,
    /// Warnings about this result (errors stop the listing).
    pub(crate) diagnostics: Diagnostics,
}

/// Declared under the name of the managed resource type it lists, with the schema of the `list`
/// block's `config`.
#[async_trait::async_trait]
pub(crate) trait ListResource: Send + Sync + 'static {
    /// Checks the configuration without side effects; it may hold unknowns.
    fn validate(&self, _config: &Object) -> Diagnostics {
        Diagnostics::new()
    }

    /// Sends results to `results` until done or until
    /// [`ListSink::send`] reports that Terraform closed the stream (it does
    /// after `limit` results). Returned diagnostics end the listing; errors
    /// among them fail the `list` block.
    async fn list(&self, request: ListRequest, results: ListSink) -> Diagnostics;
}

/// Terraform stopped reading: stop listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Terraform closed the list stream")]
pub(crate) struct Closed;

/// Where a listing sends its results.
#[derive(Clone)]
pub(crate) struct ListSink {
    results: mpsc::Sender<ListResult>,
}

impl ListSink {
    pub(crate) fn new(results: mpsc::Sender<ListResult>) -> ListSink {
        ListSink { results }
    }

    pub(crate) async fn send(&self, result: ListResult) -> Result<(), Closed> {
        self.results.send(result).await.map_err(|_| Closed)
    }

    /// Resolves when Terraform closed the stream, for listings that wait on
    /// something else in between results.
    pub(crate) async fn closed(&self) {
        self.results.closed().await;
    }
}
