//! Free loopback ports and waiting for a service to listen.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// It binds port 0 (the kernel picks an unused port) and releases it. Another process can take
/// the port before the caller binds it, so callers that start a server must retry on an
/// "address in use" failure (as [`crate::PgCluster`] does).
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`, or `timeout` passes.
///
/// Returns a `TimedOut` error naming the port when nothing listened in time.
pub fn wait_for_port(port: u16, timeout: Duration) -> std::io::Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + timeout;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("nothing accepted connections on {addr} within {timeout:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
