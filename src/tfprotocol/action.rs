//! Actions (protocol 6.10, Terraform 1.14+): an operation Terraform invokes
//! with a configuration (`terraform apply -invoke=action.T.N`, or an
//! `action_trigger` of a resource), reporting progress and leaving nothing
//! in state. A provider offers them through
//! [`Provider::actions`](super::Provider::actions).

use tokio::sync::mpsc;

use super::declared::Declared;
use super::diagnostics::Diagnostics;
use super::value::Object;

/// Its schema (see [`Declared`](super::Declared)) describes the action's `config` block: mark a
/// secret `write_only` (ephemeral values are accepted only there) and `sensitive`.
#[async_trait::async_trait]
pub(crate) trait Action: Send + Sync + 'static {
    /// Checks the configuration without side effects; it may hold unknowns.
    fn validate(&self, _config: &Object) -> Diagnostics {
        Diagnostics::new()
    }

    /// Runs at plan time with a configuration that may still hold unknowns;
    /// errors stop the plan. Defaults to [`Action::validate`].
    async fn plan(&self, config: &Object) -> Diagnostics {
        self.validate(config)
    }

    /// Runs the action with a wholly known configuration. Progress goes to
    /// the user through `progress`; the returned diagnostics complete it.
    async fn invoke(&self, config: Object, progress: Progress) -> Diagnostics;
}

/// What an invocation tells Terraform, in order: any number of progress
/// messages, then exactly one completion. Both variants carry a value, so an
/// event without one (which crashes Terraform) cannot be built.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ActionEvent {
    Progress(String),
    Completed(Diagnostics),
}

/// Sends progress messages of a running action to Terraform.
#[derive(Clone)]
pub(crate) struct Progress {
    events: mpsc::Sender<ActionEvent>,
}

impl Progress {
    pub(crate) fn new(events: mpsc::Sender<ActionEvent>) -> Progress {
        Progress { events }
    }

    /// Shows `message` to the user ("Action action.T.N (triggered by …):
    /// message"). Returns false once Terraform stopped listening; the action
    /// then decides whether to finish or give up.
    pub(crate) async fn send(&self, message: impl Into<String>) -> bool {
        self.events
            .send(ActionEvent::Progress(message.into()))
            .await
            .is_ok()
    }
}

/// Runs `action` and feeds its events into `events`, ending with the
/// completion. The caller turns the receiver into the gRPC stream.
pub(crate) async fn run(
    action: std::sync::Arc<Declared<dyn Action>>,
    config: Object,
    events: mpsc::Sender<ActionEvent>,
) {
    let diagnostics = action.invoke(config, Progress::new(events.clone())).await;
    // Nobody to tell when Terraform has gone.
    let _ = events.send(ActionEvent::Completed(diagnostics)).await;
}
