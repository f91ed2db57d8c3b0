//! Managed mode with `fake-bento-test-double`, a TEST DOUBLE of the `bento` binary built from
//! `src/bin/fake-bento-test-double.rs`: it prints normalized event lines and crashes on cue.
//! Checked: events delivered in order; crash → `error` with the stderr tail → restart;
//! pause/resume; disconnect leaves no process (by PID, including a grandchild).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cdc_bento::BentoProvider;
use cdc_core::{CdcProvider, CdcStatus, SharedEvent, SourceConfig, SourceState, handler_fn};
use cdc_testkit::process_alive;
use serde_json::json;

const FAKE: &str = env!("CARGO_BIN_EXE_fake-bento-test-double");

struct Fixture {
    provider: BentoProvider,
    control: tempfile::TempDir,
    _work: tempfile::TempDir,
    seen: Arc<Mutex<Vec<SharedEvent>>>,
}

impl Fixture {
    async fn start(source_id: &str, initial: u64, extra: &[&str]) -> Self {
        let control = tempfile::tempdir().unwrap();
        put(control.path(), "initial", &initial.to_string());
        for f in extra {
            put(control.path(), f, "1");
        }
        let work = tempfile::tempdir().unwrap();
        let provider = BentoProvider::with_work_dir(work.path());
        let config = SourceConfig::from_value(json!({
            "provider": "bento",
            "source_id": source_id,
            "source_type": "postgres",
            "connection": "postgres://cdc:hunter2@127.0.0.1:1/shop",
            "tables": ["public.items"],
            "options": {
                "mode": "managed",
                "bento_bin": FAKE,
                "env": {"FAKE_BENTO_DIR": control.path()},
                "restart_backoff_initial_ms": 1500,
                "restart_backoff_max_ms": 3000,
                "stderr_tail_lines": 5,
            }
        }))
        .unwrap();
        provider.connect(&config).await.unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        // Subscribed after connect on purpose: the provider holds what the process prints
        // until a handler listens. The subscription lives as long as the source (detached).
        provider
            .subscribe(
                source_id,
                handler_fn(move |e: SharedEvent| {
                    let sink = Arc::clone(&sink);
                    async move {
                        sink.lock().unwrap().push(e);
                        Ok(())
                    }
                }),
            )
            .unwrap()
            .detach();
        Self {
            provider,
            control,
            _work: work,
            seen,
        }
    }

    fn dir(&self) -> &Path {
        self.control.path()
    }

    fn emit(&self, n: u64) {
        wait_until("previous emit consumed", || {
            !self.dir().join("emit").exists()
        });
        put(self.dir(), "emit", &n.to_string());
    }

    fn starts(&self) -> Vec<u32> {
        std::fs::read_to_string(self.dir().join("starts"))
            .unwrap_or_default()
            .lines()
            // a line being appended right now is not a start yet
            .filter_map(|l| l.parse().ok())
            .collect()
    }

    fn numbers(&self) -> Vec<u64> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.after.as_ref().unwrap()["n"].as_u64().unwrap())
            .collect()
    }

    async fn status(&self, id: &str) -> CdcStatus {
        self.provider.status(id).await.unwrap()
    }

    async fn wait_state(&self, id: &str, state: SourceState) -> CdcStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let st = self.status(id).await;
            if st.state == state {
                return st;
            }
            assert!(Instant::now() < deadline, "never reached {state}: {st:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn wait_events(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.seen.lock().unwrap().len() < count {
            assert!(
                Instant::now() < deadline,
                "only {} of {count} events",
                self.seen.lock().unwrap().len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Writes a control file for the test double atomically (temp file, then rename): the double
/// polls these files and reads-then-removes them, so a plain write could be read while still
/// empty and the command lost.
fn put(dir: &Path, name: &str, text: &str) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn pid_of(st: &CdcStatus) -> u32 {
    st.details["pid"].as_u64().expect("a running pid") as u32
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_delivered_in_order_as_change_events() {
    let f = Fixture::start("ordered", 5, &[]).await;
    f.wait_events(5).await;
    f.emit(200);
    f.wait_events(205).await;
    assert_eq!(f.numbers(), (1..=205).collect::<Vec<_>>());

    let first = f.seen.lock().unwrap()[0].clone();
    assert_eq!(first.source_id, "ordered", "source id filled in");
    assert_eq!(first.action(), "INSERT");
    assert_eq!(first.qualified_table(), "public.items");
    assert_eq!(first.position.as_ref().unwrap().as_str(), "0/1");
    assert_eq!(first.transaction_id.as_deref(), Some("1"));
    assert!(first.commit_time.is_some());

    let st = f.wait_state("ordered", SourceState::Running).await;
    assert_eq!(st.details["mode"], "managed");
    assert_eq!(st.details["events_delivered"], 205);
    assert!(st.last_event.is_some());
    // The config file handed to the process has the real DSN, readable by the owner only.
    let path = PathBuf::from(st.details["config_path"].as_str().unwrap());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("hunter2"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // ... but the status and the rendered config do not.
    assert!(!format!("{st:?}").contains("hunter2"));
    assert!(
        !f.provider
            .config_yaml("ordered")
            .unwrap()
            .contains("hunter2")
    );

    let pid = pid_of(&st);
    f.provider.disconnect("ordered").await.unwrap();
    assert!(
        !process_alive(pid),
        "bento process {pid} survived disconnect"
    );
    assert!(!path.exists(), "config file with secrets removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_shows_error_with_stderr_tail_then_restarts() {
    let f = Fixture::start("crashy", 3, &[]).await;
    f.wait_events(3).await;
    let st = f.wait_state("crashy", SourceState::Running).await;
    let first_pid = pid_of(&st);

    put(f.dir(), "crash", "1");
    let st = f.wait_state("crashy", SourceState::Error).await;
    let error = st.error.clone().expect("error text");
    assert!(error.contains("exit status: 3"), "{error}");
    assert!(
        error.contains("simulated crash of the test double"),
        "{error}"
    );
    let tail = st.details["stderr_tail"].as_array().unwrap();
    assert!(
        tail.iter()
            .any(|l| l.as_str().unwrap().contains("simulated crash"))
    );
    assert!(!process_alive(first_pid), "crashed process reaped");

    // Restarted after the backoff, as a new process, and events continue where they were.
    let st = f.wait_state("crashy", SourceState::Running).await;
    let second_pid = pid_of(&st);
    assert_ne!(first_pid, second_pid);
    assert_eq!(st.details["restarts"], 1);
    // `running` comes at spawn; the double records its pid a moment later.
    wait_until("the second start recorded", || f.starts().len() >= 2);
    assert_eq!(f.starts(), vec![first_pid, second_pid]);
    f.emit(4);
    f.wait_events(7).await;
    assert_eq!(f.numbers(), (1..=7).collect::<Vec<_>>());

    f.provider.disconnect("crashy").await.unwrap();
    assert!(!process_alive(second_pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_stops_the_process_and_resume_starts_it_again() {
    let f = Fixture::start("pausing", 2, &[]).await;
    f.wait_events(2).await;
    let pid = pid_of(&f.wait_state("pausing", SourceState::Running).await);

    let pausable = f.provider.pausable().expect("bento is pausable");
    pausable.pause("pausing").await.unwrap();
    let st = f.status("pausing").await;
    assert_eq!(st.state, SourceState::Paused);
    assert!(st.details["pid"].is_null());
    assert!(!process_alive(pid), "paused process {pid} still alive");

    pausable.resume("pausing").await.unwrap();
    let st = f.wait_state("pausing", SourceState::Running).await;
    let new_pid = pid_of(&st);
    assert_ne!(pid, new_pid);
    f.emit(3);
    f.wait_events(5).await;
    assert_eq!(f.numbers(), vec![1, 2, 3, 4, 5]);

    f.provider.disconnect("pausing").await.unwrap();
    assert!(!process_alive(new_pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_ends_the_whole_process_group() {
    let f = Fixture::start("grouped", 1, &["spawn_child"]).await;
    f.wait_events(1).await;
    let pid = pid_of(&f.wait_state("grouped", SourceState::Running).await);
    wait_until("grandchild pid", || f.dir().join("grandchild.pid").exists());
    let grandchild: u32 = std::fs::read_to_string(f.dir().join("grandchild.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(process_alive(pid) && process_alive(grandchild));

    f.provider.disconnect("grouped").await.unwrap();
    assert!(!process_alive(pid), "bento {pid} survived");
    // The grandchild's parent is gone; it is reaped by init, so give that a moment.
    wait_until("grandchild gone", || !process_alive(grandchild));
    assert_eq!(f.status("grouped").await.state, SourceState::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_provider_kills_the_process() {
    let f = Fixture::start("dropped", 1, &[]).await;
    f.wait_events(1).await;
    let pid = pid_of(&f.wait_state("dropped", SourceState::Running).await);
    drop(f.provider);
    wait_until("process gone after drop", || !process_alive(pid));
}
