//! A loopback HTTP client for the server's tests and bench: hyper's own client connection,
//! nothing beyond 127.0.0.1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Body, Bytes, Frame, SizeHint};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// An answer: status, headers and body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(500)])
            )
        })
    }
}

/// One HTTP/1.1 connection to the server, reused for several requests.
pub struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        Client { sender }
    }

    pub async fn send(&mut self, method: &str, path: &str, host: &str, body: Vec<u8>) -> Reply {
        self.sender.ready().await.unwrap();
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", host)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let resp = self.sender.send_request(req).await.unwrap();
        let (parts, body) = resp.into_parts();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    }

    pub async fn post(&mut self, path: &str, body: impl Into<Vec<u8>>) -> Reply {
        self.send("POST", path, "127.0.0.1", body.into()).await
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.send("GET", path, "127.0.0.1", Vec::new()).await
    }
}

/// A request on a fresh connection.
pub async fn once(addr: SocketAddr, method: &str, path: &str, host: &str, body: &[u8]) -> Reply {
    Client::connect(addr)
        .await
        .send(method, path, host, body.to_vec())
        .await
}

/// A body of `len` bytes streamed in 1 MiB chunks, never held whole; with `declared`, its
/// length is announced in `Content-Length`, otherwise it is sent chunked.
pub struct Huge {
    pub left: u64,
    pub declared: bool,
}

static CHUNK: [u8; 1 << 20] = [b' '; 1 << 20];

impl Body for Huge {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(CHUNK.len() as u64);
        self.left -= n;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
            &CHUNK[..n as usize],
        )))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        if self.declared {
            SizeHint::with_exact(self.left)
        } else {
            SizeHint::default()
        }
    }
}

/// Sends `len` bytes to `path` on a fresh connection. The server may answer before it has
/// read them all and close the connection; the answer is returned when it arrived, `None`
/// when the connection closed first.
pub async fn send_huge(addr: SocketAddr, path: &str, len: u64, declared: bool) -> Option<Reply> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Huge {
            left: len,
            declared,
        })
        .unwrap();
    let resp = sender.send_request(req).await.ok()?;
    let (parts, body) = resp.into_parts();
    Some(Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.ok()?.to_bytes(),
    })
}

/// The workspace's root.
pub fn root() -> PathBuf {
    // The server crate's tests, or the root package's bench that borrows this module.
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    if here.join("crates").is_dir() {
        here.to_path_buf()
    } else {
        here.join("../..").canonicalize().unwrap()
    }
}

/// A real admission request (a fixture of the admission adapter), wrapped in the
/// `AdmissionReview` the API server sends.
pub fn review(fixture: &str) -> Value {
    let path = root()
        .join("crates/blastwall-facts/tests/fixtures/admission")
        .join(fixture);
    let request: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": request,
    })
}

/// A real agent hook payload (a fixture of the CLI's hook tests).
pub fn hook_payload(fixture: &str) -> Vec<u8> {
    std::fs::read(
        root()
            .join("crates/blastwall-cli/tests/fixtures/agent-hooks")
            .join(fixture),
    )
    .unwrap()
}
