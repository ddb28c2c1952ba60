//! go-plugin's companion services. Terraform opens the broker and stdio
//! streams on connect and calls the controller to stop the plugin; this
//! provider needs none of their features, so the streams stay open and
//! silent until shutdown.

use std::pin::Pin;

use futures_util::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

/// Generated from `proto/plugin/go_plugin.proto`; documented there.
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub mod proto {
    tonic::include_proto!("plugin");
}

type SilentStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// A stream that yields nothing and ends when the plugin shuts down.
fn silent_until<T: Send + 'static>(shutdown: CancellationToken) -> SilentStream<T> {
    use futures_util::StreamExt;
    let ended = futures_util::stream::once(shutdown.cancelled_owned());
    Box::pin(ended.filter_map(|()| std::future::ready(None)))
}

/// The three companion services, which share only the plugin's shutdown token (each is cloned
/// into its own tonic service).
#[derive(Clone)]
pub(crate) struct Companion {
    pub(crate) shutdown: CancellationToken,
}

#[async_trait::async_trait]
impl proto::grpc_controller_server::GrpcController for Companion {
    async fn shutdown(&self, _: Request<proto::Empty>) -> Result<Response<proto::Empty>, Status> {
        tracing::debug!("shutdown requested by terraform");
        self.shutdown.cancel();
        Ok(Response::new(proto::Empty {}))
    }
}

#[async_trait::async_trait]
impl proto::grpc_stdio_server::GrpcStdio for Companion {
    type StreamStdioStream = SilentStream<proto::StdioData>;

    async fn stream_stdio(
        &self,
        _: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(silent_until(self.shutdown.clone())))
    }
}

#[async_trait::async_trait]
impl proto::grpc_broker_server::GrpcBroker for Companion {
    type StartStreamStream = SilentStream<proto::ConnInfo>;

    async fn start_stream(
        &self,
        request: Request<Streaming<proto::ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        // Drain what the host sends; this provider never brokers connections.
        let mut incoming = request.into_inner();
        tokio::spawn(async move { while let Ok(Some(_)) = incoming.message().await {} });
        Ok(Response::new(silent_until(self.shutdown.clone())))
    }
}
