//! Local HTTP servers on 127.0.0.1 for the unit tests of the checks (`[verify]`, the
//! smoke check): one thread answering every request as the test says.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

/// What the server answers the `n`-th request (from 0): status, body, and how long it
/// waits before answering.
pub struct Answer {
    pub status: u16,
    pub body: &'static str,
    pub delay: Duration,
}

/// Serves on a free port until the test ends; returns its URL (`http://127.0.0.1:P/`).
pub fn serve(answer: impl Fn(usize) -> Answer + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let Answer {
                status,
                body,
                delay,
            } = answer(n);
            std::thread::sleep(delay);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// Answers every request with `status` at once: "Hello" for 200, else "boom".
pub fn answering(status: u16) -> String {
    serve(move |_| Answer {
        status,
        body: if status == 200 { "Hello" } else { "boom" },
        delay: Duration::ZERO,
    })
}
