//! HTTPS for `fuelcard serve --tls-cert FILE --tls-key FILE`.
//!
//! The certificate and key are read once at start, so a wrong file stops
//! the start with a message naming it instead of failing each connection.
//! [`TlsListener`] hands axum a connection only once its handshake is done,
//! so the routes, the peer address the guessing limits count by and the
//! graceful shutdown are exactly those of plain HTTP.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject as _};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take over its handshake: a connection that opens
/// and then says nothing is closed, not held open.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's TLS configuration from a PEM certificate chain (the
/// server's own certificate first, as `fullchain.pem`) and its PEM private
/// key. Every failure names the option and the file: unreadable, holding
/// no PEM certificate or key, or a key that is not the certificate's.
///
/// The crypto provider is ring, given here rather than taken from a
/// process-wide default, so no other crate's choice can change it.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let chain = read_certificates(cert)?;
    let private_key = read_key(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // Loaded once on its own so that a key ring cannot use is reported as
    // the key's fault, not mixed up with the certificate's.
    provider
        .key_provider
        .load_private_key(private_key.clone_key())
        .map_err(|e| {
            anyhow!(
                "--tls-key {}: the private key cannot be used: {}",
                key.display(),
                plain(e)
            )
        })?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("the TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => anyhow!(
                "--tls-key {} does not match the certificate in --tls-cert {}: give the key \
                 the certificate was issued for",
                key.display(),
                cert.display()
            ),
            rustls::Error::InvalidCertificate(why) => anyhow!(
                "--tls-cert {}: not a valid X.509 certificate ({why:?})",
                cert.display()
            ),
            other => anyhow!(
                "--tls-cert {}: the certificate cannot be used: {}",
                cert.display(),
                plain(other)
            ),
        })?;
    // axum serves HTTP/1.1 only; saying so lets a client that offers h2
    // settle on HTTP/1.1 during the handshake.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// rustls's message without the "unexpected error: " it puts before its
/// general errors, which here are the file's fault, not unexpected.
fn plain(e: rustls::Error) -> String {
    match e {
        rustls::Error::General(message) => message,
        other => other.to_string(),
    }
}

fn read_file(option: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{option} {}: cannot read it", path.display()))
}

fn read_certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let bytes = read_file("--tls-cert", path)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, pem::Error>>()
        .map_err(|e| anyhow!("--tls-cert {}: not valid PEM: {e}", path.display()))?;
    if chain.is_empty() {
        anyhow::bail!(
            "--tls-cert {}: no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)",
            path.display()
        );
    }
    Ok(chain)
}

fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let bytes = read_file("--tls-key", path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => anyhow!(
            "--tls-key {}: no private key in it (expected unencrypted PEM: -----BEGIN PRIVATE \
             KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)",
            path.display()
        ),
        other => anyhow!("--tls-key {}: not valid PEM: {other}", path.display()),
    })
}

/// A TCP listener whose connections come out of their TLS handshake.
/// Handshakes run side by side on tasks of their own, so a slow or silent
/// client never holds up the next one; a failed or timed-out handshake is
/// dropped (a plain-HTTP request to this port gets no answer but a closed
/// connection, never a downgrade).
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Option<(TlsStream<TcpStream>, SocketAddr)>>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> Self {
        TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshakes: JoinSet::new(),
        }
    }

    fn start_handshake(&mut self, stream: TcpStream, peer: SocketAddr) {
        let handshake = self.acceptor.accept(stream);
        self.handshakes.spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                Ok(Ok(tls)) => Some((tls, peer)),
                Ok(Err(e)) => {
                    tracing::debug!(%peer, %e, "TLS handshake failed");
                    None
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    None
                }
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // Both branches are cancel-safe: a connection accepted or a
            // handshake finished is never lost when the other wins.
            tokio::select! {
                accepted = self.tcp.accept() => match accepted {
                    Ok((stream, peer)) => self.start_handshake(stream, peer),
                    Err(e) => accept_failed(e).await,
                },
                Some(done) = self.handshakes.join_next() => {
                    if let Ok(Some(connection)) = done {
                        return connection;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// As axum's own TCP listener does: a client that hung up is nothing; any
/// other error (out of file descriptors) is logged and waited out for a
/// second rather than retried in a busy loop.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%e, "accept error");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
