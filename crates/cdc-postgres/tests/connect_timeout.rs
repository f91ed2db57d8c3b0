//! Every connect is bounded: a server that accepts the TCP connection and never answers (a
//! stuck pooler, a half-open load balancer), or a SYN that is never answered, ends in a
//! retryable error naming the address and `connect_timeout`, never the password. No
//! PostgreSQL needed: the "server" is a local listener that never writes a byte.
//!
//! Each call is wrapped in a 10 s guard, so that code without the bound fails here rather
//! than hanging the suite.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cdc_core::{CdcProvider, SourceConfig};
use cdc_postgres::config::dsn::DEFAULT_CONNECT_TIMEOUT;
use cdc_postgres::replication::session;
use cdc_postgres::sql::connect;
use cdc_postgres::{PostgresProvider, PostgresSource};
use pgwire_replication::Lsn;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::time::{Instant, timeout};

const PASSWORD: &str = "p@ss w0rd:%/x";
/// The password as a URL carries it.
const PASSWORD_IN_URL: &str = "p%40ss%20w0rd%3A%25%2Fx";
const GUARD: Duration = Duration::from_secs(10);

/// A listener that accepts and reads but never writes. `open` counts the connections the
/// client has not closed yet: a time-out must close its socket, not leave it to the server.
struct Silent {
    port: u16,
    open: Arc<AtomicUsize>,
}

async fn silent() -> Silent {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let open = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&open);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                counter.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    Silent { port, open }
}

fn config(connection: String) -> SourceConfig {
    SourceConfig {
        provider: "postgres".into(),
        source_id: "stuck".into(),
        source_type: "postgres".into(),
        connection: connection.into(),
        tables: vec!["public.t".into()],
        options: serde_json::Map::new(),
    }
}

fn source(port: u16, extra: &str) -> PostgresSource {
    let dsn =
        format!("host=127.0.0.1 port={port} user=cdc password='{PASSWORD}' dbname=shop {extra}");
    PostgresSource::from_config(&config(dsn)).unwrap()
}

/// The error names the address, the limit and the parameter, and not the password.
fn check(text: &str, debug: &str, port: u16, secs: u64) {
    for shown in [text, debug] {
        assert!(shown.contains(&format!("127.0.0.1:{port}")), "{shown}");
        assert!(shown.contains("connect_timeout"), "{shown}");
        assert!(shown.contains(&format!("within {secs} s")), "{shown}");
        for secret in [PASSWORD, PASSWORD_IN_URL, "p@ss", "w0rd"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}

/// Runs `connecting` under the guard and returns how long it took; it must fail.
async fn fails_in_time<T, E>(
    what: &str,
    connecting: impl Future<Output = Result<T, E>>,
) -> (E, Duration) {
    let started = Instant::now();
    match timeout(GUARD, connecting).await {
        Err(_) => panic!("{what}: still connecting after {GUARD:?}"),
        Ok(Ok(_)) => panic!("{what}: connected to a server that never answers"),
        Ok(Err(e)) => (e, started.elapsed()),
    }
}

/// The client closed every socket it opened, within a few seconds.
async fn all_closed(server: &Silent, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.open.load(Ordering::SeqCst) > 0 {
        assert!(Instant::now() < deadline, "{what}: a socket stayed open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sql_connect_is_bounded_in_startup_and_in_tls() {
    let server = silent().await;
    // disable: the startup message goes out and no answer comes; require: no answer to the
    // SSLRequest.
    for mode in ["disable", "require"] {
        let src = source(server.port, &format!("sslmode={mode} connect_timeout=1"));
        let (e, took) = fails_in_time(mode, connect::connect(&src)).await;
        assert!(took >= Duration::from_millis(900), "{mode}: {took:?}");
        assert!(e.is_retryable(), "{mode}: {e}");
        check(&e.to_string(), &format!("{e:?}"), server.port, 1);
        assert!(e.to_string().contains("authentication"), "{e}");
        all_closed(&server, mode).await;
    }
}

#[tokio::test]
async fn replication_connects_are_bounded() {
    let server = silent().await;
    for mode in ["disable", "require"] {
        let src = source(server.port, &format!("sslmode={mode} connect_timeout=1"));
        let (e, _) = fails_in_time(mode, session::start_streaming(&src, Lsn::ZERO)).await;
        assert!(e.is_retryable(), "{mode}: {e}");
        check(&e.to_string(), &format!("{e:?}"), server.port, 1);
        assert!(e.to_string().contains("starting replication"), "{e}");
        // The worker is aborted, not left blocked on the silent server.
        all_closed(&server, mode).await;

        let (e, _) = fails_in_time(mode, session::connect_gated(&src)).await;
        assert!(e.is_retryable(), "{mode}: {e}");
        check(&e.to_string(), &format!("{e:?}"), server.port, 1);
        assert!(e.to_string().contains("replication session"), "{e}");
        all_closed(&server, mode).await;
    }
}

#[tokio::test]
async fn provider_connect_is_bounded() {
    let server = silent().await;
    let url = format!(
        "postgres://cdc:{PASSWORD_IN_URL}@127.0.0.1:{}/shop?sslmode=disable&connect_timeout=1",
        server.port
    );
    let p = PostgresProvider::new();
    let (e, _) = fails_in_time("provider connect", p.connect(&config(url))).await;
    assert!(e.is_retryable(), "{e}");
    check(&e.to_string(), &format!("{e:?}"), server.port, 1);
    all_closed(&server, "provider connect").await;
}

/// Without `connect_timeout` the default bounds the connect: with the clock paused, the
/// runtime jumps to the next timer whenever it idles, so 30 s pass at once.
#[tokio::test(start_paused = true)]
async fn the_default_bounds_a_dsn_without_connect_timeout() {
    let server = silent().await;
    let src = source(server.port, "sslmode=disable");
    assert_eq!(src.conn.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    let secs = DEFAULT_CONNECT_TIMEOUT.as_secs();
    let guard = DEFAULT_CONNECT_TIMEOUT * 2;
    let started = Instant::now();
    let sql = timeout(guard, connect::connect(&src)).await;
    let Err(e) = sql.expect("SQL connect: still connecting") else {
        panic!("SQL connect: connected to a server that never answers");
    };
    check(&e.to_string(), &format!("{e:?}"), server.port, secs);
    assert!(started.elapsed() >= DEFAULT_CONNECT_TIMEOUT);
    let repl = timeout(guard, session::start_streaming(&src, Lsn::ZERO)).await;
    let Err(e) = repl.expect("replication: still connecting") else {
        panic!("replication: connected to a server that never answers");
    };
    check(&e.to_string(), &format!("{e:?}"), server.port, secs);
}

/// A SYN that is never answered: a listener whose accept queue is full drops new SYNs
/// (Linux), so the TCP connect itself hangs.
#[tokio::test]
async fn an_unanswered_syn_is_bounded() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let port = listener.local_addr().unwrap().port();
    // Fill the accept queue (never accepted), then see whether a connect now hangs.
    let _filler = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let probe = timeout(
        Duration::from_millis(300),
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await;
    if probe.is_ok() {
        eprintln!("this kernel answers SYNs on a full accept queue; nothing to check");
        return;
    }
    let src = source(port, "sslmode=disable connect_timeout=1");
    let (e, _) = fails_in_time("SQL connect", connect::connect(&src)).await;
    check(&e.to_string(), &format!("{e:?}"), port, 1);
    let (e, _) = fails_in_time("replication", session::start_streaming(&src, Lsn::ZERO)).await;
    check(&e.to_string(), &format!("{e:?}"), port, 1);
    assert!(e.is_retryable(), "{e}");
    drop(listener);
}
