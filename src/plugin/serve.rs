//! Serving: bind a loopback listener, print the handshake line, accept
//! connections (TLS per connection, in its own task so one slow client
//! cannot hold up others) and run the gRPC services until Terraform asks
//! the plugin to shut down.

use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::handshake::{HandshakeEnv, handshake_line};
use super::services::{Companion, proto as go_plugin};
use super::tls;
use crate::tfprotocol::server::{MAX_MESSAGE, ProtocolServer};

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// AutoMTLS could not be set up.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The socket could not be created.
    #[error("could not listen: {0}")]
    Listen(std::io::Error),
    /// Terraform could not be told where to connect.
    #[error("could not write the handshake: {0}")]
    Handshake(std::io::Error),
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Grpc(#[from] tonic::transport::Error),
}

/// How the plugin is being run.
pub enum Mode {
    /// Started by Terraform: handshake on stdout, AutoMTLS when asked.
    Managed(HandshakeEnv),
    /// `--debug`: plain gRPC on a unix socket; prints TF_REATTACH_PROVIDERS.
    Debug {
        /// The provider's source address, the key of `TF_REATTACH_PROVIDERS`.
        provider_address: String,
    },
}

/// Serves `server` until Terraform stops the plugin (or, in debug mode, until interrupted).
pub async fn serve(server: ProtocolServer, mode: Mode) -> Result<(), ServeError> {
    let shutdown = CancellationToken::new();
    let (listener, network, addr, _socket_dir) = bind(&mode).await.map_err(ServeError::Listen)?;

    let (tls_config, cert_der) = match &mode {
        Mode::Managed(HandshakeEnv {
            client_cert_pem: Some(pem),
            ..
        }) => {
            let identity = tls::generate_server_identity()?;
            let config = tls::server_config(&identity, pem)?;
            (Some(Arc::new(config)), Some(identity.cert_der.to_vec()))
        }
        _ => (None, None),
    };

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;

    let companion = Companion {
        shutdown: shutdown.clone(),
    };
    let router = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(
            go_plugin::grpc_controller_server::GrpcControllerServer::new(companion.clone()),
        )
        .add_service(go_plugin::grpc_stdio_server::GrpcStdioServer::new(
            companion.clone(),
        ))
        .add_service(
            go_plugin::grpc_broker_server::GrpcBrokerServer::new(companion)
                .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(super::panic::NamedRpcs(server.into_service()));

    let (conn_tx, conn_rx) = mpsc::channel::<std::io::Result<Conn>>(16);
    tokio::spawn(accept_loop(listener, tls_config, conn_tx, shutdown.clone()));

    // Before the handshake: from then on Terraform may be interrupted.
    super::lifetime::install(&shutdown, matches!(mode, Mode::Managed(_)));
    announce(&mode, &network, &addr, cert_der.as_deref()).map_err(ServeError::Handshake)?;

    let incoming = tokio_stream::wrappers::ReceiverStream::new(conn_rx);
    let graceful =
        router.serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned());
    tokio::select! {
        result = graceful => result?,
        // Terraform waits 2 s for the exit; do not let an open stream hold it.
        () = async { shutdown.cancelled().await; tokio::time::sleep(Duration::from_millis(500)).await } => {}
    }
    tracing::debug!("plugin stopped");
    Ok(())
}

fn announce(
    mode: &Mode,
    network: &str,
    addr: &str,
    cert_der: Option<&[u8]>,
) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match mode {
        Mode::Managed(_) => writeln!(stdout, "{}", handshake_line(network, addr, cert_der))?,
        Mode::Debug { provider_address } => {
            let reattach = serde_json::json!({ provider_address: {
                "Protocol": "grpc", "ProtocolVersion": 6, "Pid": std::process::id(), "Test": true,
                "Addr": { "Network": network, "String": addr }
            }});
            writeln!(
                stdout,
                "Provider started in debug mode. To attach Terraform, set in the shell where you run it:\n\n\tTF_REATTACH_PROVIDERS='{reattach}'\n"
            )?;
        }
    }
    stdout.flush()
}

enum Listener {
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
    #[cfg_attr(unix, allow(dead_code))]
    Tcp(tokio::net::TcpListener),
}

/// Removes the socket directory when the plugin exits.
struct SocketDir(Option<std::path::PathBuf>);

impl Drop for SocketDir {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Unix sockets where available (as Go plugins do), loopback TCP in
/// Terraform's port range elsewhere.
async fn bind(mode: &Mode) -> std::io::Result<(Listener, String, String, SocketDir)> {
    #[cfg(unix)]
    {
        let base = match mode {
            Mode::Managed(env) => env.unix_socket_dir.clone().map(std::path::PathBuf::from),
            Mode::Debug { .. } => None,
        }
        .unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!(
            "tfvm-plugin-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("plugin.sock");
        let listener = tokio::net::UnixListener::bind(&path)?;
        let addr = path.to_string_lossy().into_owned();
        Ok((
            Listener::Unix(listener),
            "unix".into(),
            addr,
            SocketDir(Some(dir)),
        ))
    }
    #[cfg(not(unix))]
    {
        let ports = match mode {
            Mode::Managed(env) => env.ports.clone(),
            Mode::Debug { .. } => 0..=0,
        };
        let mut last_err = None;
        for port in ports {
            match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                Ok(l) => {
                    let addr = l.local_addr()?.to_string();
                    return Ok((Listener::Tcp(l), "tcp".into(), addr, SocketDir(None)));
                }
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| std::io::Error::other("empty port range")))
    }
}

async fn accept_loop(
    listener: Listener,
    tls: Option<Arc<rustls::ServerConfig>>,
    conns: mpsc::Sender<std::io::Result<Conn>>,
    shutdown: CancellationToken,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let accepted: std::io::Result<Box<dyn Io>> = tokio::select! {
            () = shutdown.cancelled() => return,
            r = accept(&listener) => r,
        };
        let stream = match accepted {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let Some(acceptor) = acceptor.clone() else {
            if conns.send(Ok(Conn(stream))).await.is_err() {
                return;
            }
            continue;
        };
        let conns = conns.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = conns.send(Ok(Conn(Box::new(tls)))).await;
                }
                // A client without Terraform's certificate ends here.
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "refused a connection: TLS handshake failed")
                }
                Err(_) => tracing::warn!("refused a connection: TLS handshake timed out"),
            }
        });
    }
}

async fn accept(listener: &Listener) -> std::io::Result<Box<dyn Io>> {
    Ok(match listener {
        #[cfg(unix)]
        Listener::Unix(l) => Box::new(l.accept().await?.0),
        Listener::Tcp(l) => {
            let (s, _) = l.accept().await?;
            s.set_nodelay(true)?;
            Box::new(s)
        }
    })
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// One accepted connection, plain or TLS, as tonic wants it.
struct Conn(Box<dyn Io>);

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}
