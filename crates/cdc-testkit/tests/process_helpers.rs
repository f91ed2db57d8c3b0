//! free_port, wait_for_port and ChildGuard against real processes.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use cdc_testkit::{ChildGuard, Signal, free_port, process_alive, wait_for_port};

fn gone(pid: u32) -> bool {
    for _ in 0..100 {
        if !process_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The tests here that take ephemeral ports run one at a time, so they do not hand each other
/// ports.
static PORTS: Mutex<()> = Mutex::new(());

#[test]
fn free_port_is_bindable_on_loopback() {
    let _one_at_a_time = PORTS.lock().unwrap_or_else(|p| p.into_inner());
    // `free_port` only promises a port that was free a moment ago: another process may take it
    // first (seen on this machine, with its services' client connections on loopback), so
    // its callers retry, as PgCluster does. The contract tested: a few tries give a port that
    // binds, and that is the port asked for.
    let mut last_err = None;
    for _ in 0..5 {
        let port = free_port().unwrap();
        assert_ne!(port, 0);
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(listener) => {
                assert_eq!(listener.local_addr().unwrap().port(), port);
                return;
            }
            Err(e) => last_err = Some((port, e)),
        }
    }
    panic!("no port from free_port could be bound in 5 tries: {last_err:?}");
}

#[test]
fn wait_for_port_sees_a_listener_and_times_out_without_one() {
    let _one_at_a_time = PORTS.lock().unwrap_or_else(|p| p.into_inner());
    let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    wait_for_port(port, Duration::from_secs(5)).unwrap();
    drop(listener);
    let err = wait_for_port(port, Duration::from_millis(300)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}

#[test]
fn dropping_the_guard_kills_the_whole_process_group() {
    // The shell starts a background grandchild and prints its PID.
    let mut guard = ChildGuard::spawn(
        "sleeper",
        Command::new("sh")
            .args(["-c", "sleep 300 & echo $!; wait"])
            .stdout(Stdio::piped()),
    )
    .unwrap();
    let leader = guard.pid();
    let stdout = guard.child_mut().stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let grandchild: u32 = line.trim().parse().unwrap();
    assert!(process_alive(leader) && process_alive(grandchild));

    drop(guard);
    assert!(gone(leader), "leader {leader} survived");
    assert!(gone(grandchild), "grandchild {grandchild} survived");
}

#[test]
fn stop_escalates_to_sigkill_after_the_grace_period() {
    // Ignores SIGTERM: only SIGKILL ends it.
    let guard = ChildGuard::spawn(
        "stubborn",
        Command::new("sh").args(["-c", "trap '' TERM; while :; do sleep 0.1; done"]),
    )
    .unwrap()
    .with_grace(Duration::from_millis(300));
    let pid = guard.pid();
    std::thread::sleep(Duration::from_millis(200)); // let the trap be installed
    let status = guard.stop().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(Signal::SIGKILL as i32));
    assert!(gone(pid));
}

#[test]
fn from_child_guards_an_existing_child_with_a_chosen_signal() {
    let child = Command::new("sleep").arg("300").spawn().unwrap();
    let guard = ChildGuard::from_child("sleep", child).with_stop_signal(Signal::SIGINT);
    assert_eq!(guard.name(), "sleep");
    let pid = guard.pid();
    let status = guard.stop().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(Signal::SIGINT as i32));
    assert!(gone(pid));
}
