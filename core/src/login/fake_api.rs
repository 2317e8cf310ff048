//! A scripted stand-in for the emnify API in unit tests: each request gets the next
//! canned answer (status, JSON body, `Date` header), and the request bodies are kept so a
//! test can see what was sent. One request per connection (`Connection: close`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One canned answer.
#[derive(Debug, Clone)]
pub(crate) struct Canned {
    /// HTTP status.
    pub status: u16,
    /// The body (JSON text, or empty).
    pub body: String,
    /// The `Date` header, Unix seconds; `None` sends none.
    pub date: Option<u64>,
}

/// A running fake API; stops when dropped.
#[derive(Debug)]
pub(crate) struct FakeApi {
    /// Base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    /// The bodies of the requests received so far, as JSON.
    pub requests: Arc<Mutex<Vec<serde_json::Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeApi {
    /// Serves `answers` in order (then 500s) on a free loopback port.
    pub async fn start(answers: Vec<Canned>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            let mut answers = answers.into_iter();
            while let Ok((stream, _)) = listener.accept().await {
                let answer = answers.next().unwrap_or(Canned {
                    status: 500,
                    body: String::new(),
                    date: None,
                });
                serve(stream, &answer, &seen).await;
            }
        });
        Self {
            url,
            requests,
            task,
        }
    }

    /// How many requests arrived.
    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

async fn serve(mut stream: TcpStream, answer: &Canned, seen: &Mutex<Vec<serde_json::Value>>) {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    let body_start = loop {
        let n = stream.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        bytes.extend_from_slice(&buf[..n]);
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&bytes[..body_start]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while bytes.len() < body_start + length {
        let n = stream.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&buf[..n]);
    }
    let body = serde_json::from_slice(&bytes[body_start..]).unwrap_or(serde_json::Value::Null);
    seen.lock().unwrap().push(body);
    let date = answer
        .date
        .map(|secs| {
            format!(
                "Date: {}\r\n",
                httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
            )
        })
        .unwrap_or_default();
    let response = format!(
        "HTTP/1.1 {} Canned\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{date}\r\n{}",
        answer.status,
        answer.body.len(),
        answer.body
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}
