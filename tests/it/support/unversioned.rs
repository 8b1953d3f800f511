//! An S3-compatible store without object versioning, for `bootstrap`'s refusal: a proxy
//! on 127.0.0.1 in front of moto that answers `PutBucketVersioning` with `501
//! NotImplemented`, as such stores do, and hands every other request to moto. One request
//! per connection: both responses say `Connection: close`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

/// The proxy; its thread ends with the test process.
pub(crate) struct Unversioned {
    endpoint: String,
}

impl Unversioned {
    /// Starts the proxy in front of the moto at `upstream` (`http://127.0.0.1:<port>`).
    pub(crate) fn start(upstream: &str) -> Self {
        let upstream: u16 = upstream.rsplit(':').next().and_then(|p| p.parse().ok()).expect("moto's port");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("address").port();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                std::thread::spawn(move || serve(client, upstream));
            }
        });
        Self { endpoint: format!("http://127.0.0.1:{port}") }
    }

    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

fn serve(mut client: TcpStream, upstream: u16) -> std::io::Result<()> {
    let (head, body) = read_request(&mut client)?;
    let request_line = head.lines().next().unwrap_or_default();
    if request_line.starts_with("PUT ") && request_line.contains("?versioning") {
        let error = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NotImplemented</Code>\
                     <Message>A header you provided implies functionality that is not implemented</Message></Error>";
        let response = format!(
            "HTTP/1.1 501 Not Implemented\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{error}",
            error.len()
        );
        return client.write_all(response.as_bytes());
    }
    let mut moto = TcpStream::connect(("127.0.0.1", upstream))?;
    moto.write_all(close(&head).as_bytes())?;
    moto.write_all(&body)?;
    let mut response = Vec::new();
    moto.read_to_end(&mut response)?;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").map_or(response.len(), |i| i + 4);
    let (head, body) = response.split_at(split);
    client.write_all(close(&String::from_utf8_lossy(head)).as_bytes())?;
    client.write_all(body)
}

/// A request's head (through its blank line) and its `Content-Length` body.
fn read_request(stream: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte)?;
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0_u8; length];
    stream.read_exact(&mut body)?;
    Ok((head, body))
}

/// A message head with `Connection: close` in place of any `Connection` header.
fn close(head: &str) -> String {
    let mut lines: Vec<&str> = head
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(|l| !l.split_once(':').is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("connection")))
        .collect();
    lines.push("Connection: close");
    format!("{}\r\n\r\n", lines.join("\r\n"))
}
