//! TLS in front of the test SMTP sink, as a relay with a private CA would
//! offer it: implicit TLS (`smtps://`, port 465 style) or STARTTLS. A CA of
//! the test's own signs a certificate for `localhost`; the front terminates
//! TLS with it and passes the conversation on to a plain [`SmtpSink`], so
//! the messages land where the other tests read them.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate authority and a `localhost` certificate it signed.
pub struct TestCa {
    /// The CA's certificate, PEM: what `SMTP_CA_FILE` points at.
    pub pem: String,
    server: Arc<rustls::ServerConfig>,
}

impl TestCa {
    pub fn new() -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "gatehouse test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &ca, &ca_key)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(leaf.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .unwrap();
        TestCa {
            pem: ca.pem(),
            server: Arc::new(server),
        }
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// TLS from the first byte.
    Implicit,
    /// Plain greeting and EHLO offering STARTTLS, then TLS.
    StartTls,
}

/// The TLS front; stops when dropped.
pub struct TlsFront {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsFront {
    /// Listens on loopback and relays each connection to `backend` (a plain
    /// SMTP server) once TLS is up.
    pub fn start(ca: &TestCa, mode: Mode, backend: SocketAddr) -> TlsFront {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let stopping = Arc::new(AtomicBool::new(false));
        let flag = stopping.clone();
        let config = ca.server.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let config = config.clone();
                    std::thread::spawn(move || {
                        let _ = relay(stream, config, mode, backend);
                    });
                }
            }
        });
        TlsFront {
            addr,
            stopping,
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One client: the plain STARTTLS prelude if asked, the handshake, then the
/// backend's conversation (its own greeting swallowed: the client had one).
fn relay(
    mut client: TcpStream,
    config: Arc<rustls::ServerConfig>,
    mode: Mode,
    backend: SocketAddr,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    if mode == Mode::StartTls {
        client.write_all(b"220 localhost ESMTP test TLS front\r\n")?;
        loop {
            let line = read_line(&mut client)?;
            let verb = line.trim().to_ascii_uppercase();
            if verb.starts_with("EHLO") {
                client.write_all(b"250-localhost\r\n250 STARTTLS\r\n")?;
            } else if verb == "STARTTLS" {
                client.write_all(b"220 2.0.0 Ready to start TLS\r\n")?;
                break;
            } else if verb == "QUIT" {
                client.write_all(b"221 2.0.0 Bye\r\n")?;
                return Ok(());
            } else {
                client.write_all(b"530 5.7.0 Must issue a STARTTLS command first\r\n")?;
            }
        }
    }
    let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, client);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    let mut plain = TcpStream::connect(backend)?;
    plain.set_read_timeout(Some(Duration::from_secs(30)))?;
    let greeting = read_line(&mut plain)?;
    if mode == Mode::Implicit {
        tls.write_all(greeting.as_bytes())?;
        tls.flush()?;
    }
    // Both ways on one thread: short read timeouts on both sockets.
    tls.sock.set_read_timeout(Some(Duration::from_millis(10)))?;
    plain.set_read_timeout(Some(Duration::from_millis(10)))?;
    let mut buf = [0u8; 16 * 1024];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => plain.write_all(&buf[..n])?,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(e),
        }
        match plain.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                tls.write_all(&buf[..n])?;
                tls.flush()?;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(e),
        }
    }
}

/// One CRLF-terminated line, byte by byte (nothing read past it).
fn read_line(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if stream.read(&mut byte)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        line.push(byte[0]);
        if byte[0] == b'\n' {
            return Ok(String::from_utf8_lossy(&line).into_owned());
        }
    }
}
