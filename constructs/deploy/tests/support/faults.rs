//! A fault-injecting HTTP proxy in front of a real endpoint (moto): every request is passed
//! through, except those a rule picks (a method and a piece of the path, e.g. `PUT` on
//! `/assets/`), which get a throttling or server error instead, as many times as the rule
//! says. It is how the tests see what S3's `503 SlowDown` or a `500` does to an upload
//! that moto itself would always accept.
//!
//! One request per connection: the proxy answers with `Connection: close`, so the client
//! never reuses a connection the proxy is done with.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// What a matching request gets instead of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpFault {
    /// HTTP 503, S3's `SlowDown` (its throttling).
    SlowDown,
    /// HTTP 500, `InternalError`.
    Internal,
}

#[derive(Debug)]
struct Rule {
    method: String,
    path_contains: String,
    fault: HttpFault,
    remaining: u32,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    seen: Vec<(String, String, u16)>,
}

/// The proxy; it runs until the test process ends.
#[derive(Clone, Debug)]
pub struct FaultProxy {
    url: String,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// Starts a proxy on 127.0.0.1 in front of `upstream` (`http://host:port`).
    pub fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (state, upstream) = (Arc::clone(&shared), upstream.clone());
                thread::spawn(move || {
                    let _ = serve(conn, &upstream, &state);
                });
            }
        });
        FaultProxy { url, state }
    }

    /// The proxy's URL, to use as the AWS endpoint.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The next `count` requests with this method whose path contains `path_contains` get
    /// `fault`.
    pub fn fail(&self, method: &str, path_contains: &str, fault: HttpFault, count: u32) {
        self.state.lock().expect("proxy state").rules.push(Rule {
            method: method.to_owned(),
            path_contains: path_contains.to_owned(),
            fault,
            remaining: count,
        });
    }

    /// Every request so far: method, path and the status it got.
    pub fn requests(&self) -> Vec<(String, String, u16)> {
        self.state.lock().expect("proxy state").seen.clone()
    }
}

/// A request as read from the client: its head's lines and its body.
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn serve(client: TcpStream, upstream: &str, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut out = client;
    let Some(req) = read_request(&mut reader, &mut out)? else {
        return Ok(());
    };
    let fault = {
        let mut st = state
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        let rule = st.rules.iter_mut().find(|r| {
            r.remaining > 0 && r.method == req.method && req.path.contains(&r.path_contains)
        });
        rule.map(|r| {
            r.remaining -= 1;
            r.fault
        })
    };
    let (status, response) = match fault {
        Some(f) => fault_response(f, req.method == "HEAD"),
        None => forward(&req, upstream)?,
    };
    if let Ok(mut st) = state.lock() {
        st.seen.push((req.method.clone(), req.path.clone(), status));
    }
    out.write_all(&response)?;
    out.flush()
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    out: &mut TcpStream,
) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        // Passed on as is: the chunks, the last one, the trailers and the blank line.
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            body.extend_from_slice(size.as_bytes());
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if n == 0 {
                loop {
                    let mut t = String::new();
                    reader.read_line(&mut t)?;
                    body.extend_from_slice(t.as_bytes());
                    if t.trim_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
        }
    } else if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(n, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

fn fault_response(fault: HttpFault, head: bool) -> (u16, Vec<u8>) {
    let (status, reason, code, message) = match fault {
        HttpFault::SlowDown => (
            503,
            "Slow Down",
            "SlowDown",
            "Please reduce your request rate.",
        ),
        HttpFault::Internal => (
            500,
            "Internal Server Error",
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
    };
    // A response to HEAD has no body, whatever it says.
    let body = if head {
        String::new()
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        )
    };
    let text = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    (status, text.into_bytes())
}

/// Sends the request upstream on a connection of its own and returns the whole response,
/// with `Connection: close`.
fn forward(req: &Request, upstream: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut up = TcpStream::connect(upstream)?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.path);
    for (k, v) in &req.headers {
        if k.eq_ignore_ascii_case("connection") || k.eq_ignore_ascii_case("expect") {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&req.body)?;
    up.flush()?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut rewritten: Vec<String> = head
        .lines()
        .filter(|l| {
            !l.to_ascii_lowercase().starts_with("connection:")
                && !l.to_ascii_lowercase().starts_with("keep-alive:")
        })
        .map(str::to_owned)
        .collect();
    rewritten.push("Connection: close".to_owned());
    let mut out = rewritten.join("\r\n").into_bytes();
    out.extend_from_slice(&response[end..]);
    Ok((status, out))
}
