//! The two server-streaming RPCs this provider serves: the results of a
//! list resource and the events of an action, from the typed values the
//! implementations produce to wire events. Each runs in its own task and
//! feeds a bounded channel that becomes the gRPC stream; when Terraform
//! closes the stream, tonic drops it, and the implementation learns so at
//! its next send.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::action::{self, Action, ActionEvent};
use super::codec::{encode_block, encode_object};
use super::declared::Declared;
use super::diagnostics::{Diagnostic, Diagnostics};
use super::list::{ListRequest, ListResource, ListResult, ListSink};
use super::proto;
use super::resource::Resource;
use super::value::Object;

pub(crate) type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// A stream of exactly the given events.
fn stream_of<T: Send + 'static>(events: Vec<T>) -> EventStream<T> {
    Box::pin(futures_util::stream::iter(events.into_iter().map(Ok)))
}

/// Runs the listing and streams one event per result, then one with the
/// listing's own diagnostics if it has any. `res` is the listed resource
/// type, whose identity and resource schemas encode the results.
pub(crate) fn list(
    list: Arc<Declared<dyn ListResource>>,
    res: Arc<Declared<dyn Resource>>,
    request: ListRequest,
) -> EventStream<proto::list_resource::Event> {
    let include = request.include_resource_object;
    let (results_tx, mut results) = mpsc::channel(1);
    let (events, events_rx) = mpsc::channel(1);
    let listing = tokio::spawn(async move { list.list(request, ListSink::new(results_tx)).await });
    tokio::spawn(async move {
        while let Some(result) = results.recv().await {
            let (event, failed) = match list_event(res.as_ref(), result, include) {
                Ok(event) => (event, false),
                Err(d) => (list_error(d), true),
            };
            if events.send(Ok(event)).await.is_err() || failed {
                // Dropping `results` tells the listing to stop.
                return;
            }
        }
        let diags = listing.await.unwrap_or_else(|e| {
            Diagnostic::error(
                "Listing failed",
                format!("The list resource stopped unexpectedly: {e}. This is a bug in the provider; please report it."),
            )
            .into()
        });
        if !diags.0.is_empty() {
            let _ = events.send(Ok(list_error(diags))).await;
        }
    });
    Box::pin(ReceiverStream::new(events_rx))
}

/// A listing that could not start: one event with the errors.
pub(crate) fn list_failed(diags: Diagnostics) -> EventStream<proto::list_resource::Event> {
    stream_of(vec![list_error(diags)])
}

/// The event for one result: identity always, the resource object only
/// when Terraform asked for it.
fn list_event(
    res: &Declared<dyn Resource>,
    result: ListResult,
    include_resource_object: bool,
) -> Result<proto::list_resource::Event, Diagnostics> {
    let capability = res.identity().ok_or_else(|| {
        Diagnostic::error(
            "List resource without an identity",
            format!(
                "{:?} has no identity schema. This is a bug in the provider; please report it.",
                res.type_name
            ),
        )
    })?;
    let identity = capability.schema().complete(result.identity);
    let identity = encode_object(Some(identity), &capability.schema().implied_type())?;
    let resource_object = match result.resource_object {
        Some(obj) if include_resource_object => Some(encode_block(Some(obj), &res.schema.block)?),
        _ => None,
    };
    Ok(proto::list_resource::Event {
        identity: Some(proto::ResourceIdentityData {
            identity_data: Some(identity),
        }),
        display_name: result.display_name,
        resource_object,
        diagnostic: result.diagnostics.to_proto(),
    })
}

fn list_error(diags: Diagnostics) -> proto::list_resource::Event {
    proto::list_resource::Event {
        diagnostic: diags.to_proto(),
        ..Default::default()
    }
}

/// Runs the action and streams its progress, then its completion.
pub(crate) fn invoke(
    action: Arc<Declared<dyn Action>>,
    config: Object,
) -> EventStream<proto::invoke_action::Event> {
    let (events, rx) = mpsc::channel(16);
    tokio::spawn(action::run(action, config, events));
    Box::pin(ReceiverStream::new(rx).map(|e| Ok(action_event(e))))
}

/// An invocation that could not start: its completion with the errors.
pub(crate) fn invoke_failed(diags: Diagnostics) -> EventStream<proto::invoke_action::Event> {
    stream_of(vec![action_event(ActionEvent::Completed(diags))])
}

/// Always sets the oneof: an event without it crashes Terraform.
fn action_event(event: ActionEvent) -> proto::invoke_action::Event {
    use proto::invoke_action::event::{Completed, Progress, Type};
    proto::invoke_action::Event {
        r#type: Some(match event {
            ActionEvent::Progress(message) => Type::Progress(Progress { message }),
            ActionEvent::Completed(d) => Type::Completed(Completed {
                diagnostics: d.to_proto(),
            }),
        }),
    }
}
