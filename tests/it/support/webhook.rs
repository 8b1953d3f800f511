//! A webhook receiver on 127.0.0.1 at a random port: it keeps every request (headers and
//! body) and answers each with the next status of its script (the last one repeats).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One request as the receiver got it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// Header names in lowercase.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// Whether `X-Infra-Manager-Signature` is `sha256=` and the HMAC-SHA256 of the body
    /// under `key`, checked here with ring's verifier, not the sender's code.
    pub(crate) fn signed_with(&self, key: &[u8]) -> bool {
        let Some(hex_mac) = self.headers.get("x-infra-manager-signature").and_then(|v| v.strip_prefix("sha256="))
        else {
            return false;
        };
        let Ok(mac) = hex::decode(hex_mac) else { return false };
        ring::hmac::verify(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), &self.body, &mac).is_ok()
    }
}

pub(crate) struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Answers `statuses` in turn (`[200]`: always 200).
    pub(crate) fn start(statuses: &[u16]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&received);
        let statuses = statuses.to_vec();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut headers = BTreeMap::new();
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                loop {
                    line.clear();
                    if reader.read_line(&mut line).map_or(true, |n| n == 0) || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.trim_end().split_once(':') {
                        headers.insert(name.trim().to_lowercase(), value.trim().to_owned());
                    }
                }
                let length = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let seen = {
                    let mut all = kept.lock().expect("lock");
                    all.push(Received { headers, body });
                    all.len()
                };
                let status = statuses.get(seen - 1).or(statuses.last()).copied().unwrap_or(200);
                let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = (&stream).write_all(answer.as_bytes());
            }
        });
        Self { url, received }
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

/// A URL on 127.0.0.1 where nothing listens: every connection is refused.
pub(crate) fn down_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    format!("http://{}/hook", listener.local_addr().expect("addr"))
}
