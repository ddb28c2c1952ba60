//! How an action's progress lines read and reach Terraform, for every action.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::tfprotocol::Progress;
use crate::tfprotocol::timeouts::format_duration;

/// Where an engine's progress report puts its lines (see [`forwarded`]).
#[derive(Debug, Clone)]
pub(crate) struct Lines(mpsc::UnboundedSender<String>);

impl Lines {
    /// Queues `line` for Terraform.
    pub(crate) fn push(&self, line: String) {
        // The forwarder outlives every sender: nothing is lost but after Terraform left.
        let _ = self.0.send(line);
    }
}

/// Runs `work` while the lines it pushes reach Terraform, in order, as it goes. The engine
/// reports synchronously from inside its futures; sending to Terraform waits, so a forwarder
/// beside `work` does the sending. It ends when `work` is done and its [`Lines`] dropped.
pub(crate) async fn forwarded<T, F>(progress: &Progress, work: impl FnOnce(Lines) -> F) -> T
where
    F: Future<Output = T>,
{
    let (tx, mut rx) = mpsc::unbounded_channel();
    let run = work(Lines(tx));
    let forward = async {
        while let Some(line) = rx.recv().await {
            progress.send(line).await;
        }
    };
    let (out, ()) = tokio::join!(run, forward);
    out
}

/// Time since an action started, as its progress lines show it: tenths of a second for the
/// first minute, then Terraform's duration form (`1m30s`).
pub(crate) fn elapsed(elapsed: Duration) -> String {
    match elapsed.as_secs() {
        0..60 => format!("{:.1}s", elapsed.as_secs_f64()),
        secs => format_duration(Duration::from_secs(secs)),
    }
}
