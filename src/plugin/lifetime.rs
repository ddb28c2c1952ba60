//! How the plugin lives and ends with its host, as far as signals and parents
//! go. Terraform normally stops the plugin through the controller's
//! `Shutdown`; an interrupt is Terraform's to handle. The rest covers the other
//! ways a host goes away, so that the plugin never outlives it and always
//! removes its socket directory: a `SIGTERM` (a CI runner or container stopping
//! the job) and the host dying without a word (killed, or a wrapper that
//! skipped go-plugin's cleanup), seen as the plugin being handed to another
//! parent.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often the parent is checked: a second is cheap and soon enough for a
/// process nobody is waiting for.
const PARENT_CHECK: Duration = Duration::from_secs(1);

/// Installs the signal handlers and the parent watch; call it before the
/// handshake, from then on Terraform may be interrupted.
pub(crate) fn install(shutdown: &CancellationToken, watch_parent: bool) {
    ignore_interrupts();
    end_with_host(shutdown, watch_parent);
}

/// Ctrl-C reaches the whole process group; Terraform handles it and sends
/// StopProvider, so the plugin itself must not die of it.
/// The handler is registered before this returns, not when a task first
/// runs, so no interrupt can slip in between.
fn ignore_interrupts() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::interrupt()) {
            Ok(mut interrupts) => {
                tokio::spawn(async move {
                    while interrupts.recv().await.is_some() {
                        tracing::debug!("interrupt ignored: terraform sends StopProvider");
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "could not install the interrupt handler"),
        }
    }
    #[cfg(not(unix))]
    tokio::spawn(async {
        while tokio::signal::ctrl_c().await.is_ok() {
            tracing::debug!("interrupt ignored: terraform sends StopProvider");
        }
    });
}

/// Cancels `shutdown` on `SIGTERM`, and — when `watch_parent` — once the
/// process that started the plugin is gone.
fn end_with_host(shutdown: &CancellationToken, watch_parent: bool) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terms) => {
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    if terms.recv().await.is_some() {
                        tracing::debug!("terminated: shutting down");
                        shutdown.cancel();
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "could not install the SIGTERM handler"),
        }
        if watch_parent {
            let shutdown = shutdown.clone();
            // SAFETY: getppid has no preconditions and cannot fail.
            let parent = unsafe { libc::getppid() };
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(PARENT_CHECK);
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        _ = ticks.tick() => {}
                    }
                    // SAFETY: as above.
                    if unsafe { libc::getppid() } != parent {
                        tracing::debug!("terraform is gone: shutting down");
                        shutdown.cancel();
                        return;
                    }
                }
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (shutdown, watch_parent);
}
