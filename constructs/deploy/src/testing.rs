//! Helpers for tests of apps built on this crate: what a network fault looks like from here.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::thread;

/// Starts an endpoint on 127.0.0.1 that accepts every connection, reads what it is sent and
/// never answers, and returns its URL (`http://127.0.0.1:<port>`): the case a connect timeout
/// does not cover and the call timeout must. It runs until the process ends.
///
/// ```
/// let url = cfn_deploy::testing::silent_endpoint();
/// assert!(url.starts_with("http://127.0.0.1:"));
/// ```
///
/// # Panics
///
/// When no local port can be bound: a test environment without loopback networking.
pub fn silent_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port for the endpoint");
    let url = listener
        .local_addr()
        .map(|a| format!("http://{a}"))
        .expect("the endpoint's address");
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            thread::spawn(move || hold(&mut conn));
        }
    });
    url
}

fn hold(conn: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
}
