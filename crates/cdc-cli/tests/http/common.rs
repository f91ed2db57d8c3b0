//! A `cdc run` child with its stderr collected, its endpoint's address, and scraping.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Far above anything under test: only a hang gets here.
pub const HANG: Duration = Duration::from_secs(90);

/// The binary, without the caller's log filter.
pub fn cdc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cdc"));
    c.env_remove("RUST_LOG");
    c
}

/// `cdc ARGS`, to its end.
pub fn cdc_output(args: &[&str]) -> Output {
    cdc().args(args).stdin(Stdio::null()).output().unwrap()
}

/// The quickstart's events.
pub fn quickstart_events() -> String {
    std::fs::read_to_string(examples().join("quickstart-events.jsonl")).unwrap()
}

/// The quickstart's config, reading stdin instead of its file (so the run lives until the
/// input ends), with `extra` appended under `settings:`.
pub fn quickstart_config(dir: &Path, settings: &str) -> PathBuf {
    let text = std::fs::read_to_string(examples().join("quickstart.yaml")).unwrap();
    assert!(text.contains("events_file: quickstart-events.jsonl"));
    let text = text.replace("events_file: quickstart-events.jsonl", "events_file: \"-\"");
    let text = text.replace("  metrics_interval_secs: 10\n", settings);
    let path = dir.join("quickstart.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// A running `cdc run`.
pub struct Run {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Run {
    /// Starts `cdc run CFG --listen 127.0.0.1:0 ARGS` and waits for the bound address.
    pub fn start(cfg: &Path, args: &[&str]) -> Self {
        let mut child = cdc()
            .arg("run")
            .arg(cfg)
            .args(["--output", "json", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = BufReader::new(child.stderr.take().unwrap());
        let collected = Arc::clone(&stderr);
        let mut readers = vec![std::thread::spawn(move || {
            for line in err.lines().map_while(Result::ok) {
                let mut s = collected.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        })];
        // stdout must be read, or a full pipe would stall the run.
        let mut out = child.stdout.take().unwrap();
        readers.push(std::thread::spawn(move || {
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        }));
        let mut run = Self {
            child,
            stdin,
            stderr,
            readers,
            base: String::new(),
        };
        let line = run.wait_stderr("cdc: http endpoint on http://");
        let at = line.find("http://").unwrap();
        let addr = line[at..].split_whitespace().next().unwrap();
        run.base = addr.to_owned();
        run
    }

    /// Writes to the run's stdin.
    pub fn feed(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Everything on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for a stderr line containing `needle` (after `skip` earlier matches); returns it.
    pub fn wait_stderr_nth(&self, needle: &str, skip: usize) -> String {
        let started = Instant::now();
        loop {
            let all = self.stderr();
            if let Some(l) = all.lines().filter(|l| l.contains(needle)).nth(skip) {
                return l.to_owned();
            }
            assert!(started.elapsed() < HANG, "no {needle:?} on stderr: {all}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for a stderr line containing `needle`.
    pub fn wait_stderr(&self, needle: &str) -> String {
        self.wait_stderr_nth(needle, 0)
    }

    /// Sends `sig`.
    pub fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }

    /// Ends the input (stdin) and waits for the exit; returns it with the whole stderr.
    pub fn finish(mut self) -> (ExitStatus, String) {
        drop(self.stdin.take());
        let started = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > HANG {
                let _ = self.child.kill();
                panic!("cdc run hung: {}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for r in self.readers.drain(..) {
            r.join().unwrap();
        }
        let err = self.stderr();
        (status, err)
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET base+path`, with the token when given: (status code, body).
pub async fn get(base: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut r = client.get(format!("{base}{path}"));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let resp = r.send().await.unwrap();
    let code = resp.status().as_u16();
    (code, resp.text().await.unwrap())
}

/// One sample of the Prometheus text: name and labels, value.
pub type Samples = BTreeMap<String, f64>;

/// Parses the text format into `name{label="v",...}` (labels sorted) -> value.
pub fn parse_metrics(text: &str) -> Samples {
    let mut out = Samples::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let key = match series.split_once('{') {
            Some((name, labels)) => {
                let mut parts: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
                parts.sort_unstable();
                format!("{name}{{{}}}", parts.join(","))
            }
            None => series.to_owned(),
        };
        out.insert(key, value.parse().unwrap());
    }
    out
}

/// The value of `name` with exactly these labels (any order).
pub fn sample(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    parts.sort_unstable();
    samples
        .get(&format!("{name}{{{}}}", parts.join(",")))
        .copied()
}

/// The sum of every sample of `name` whose labels include `labels`.
pub fn sum(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{name}{{")))
        .filter(|(k, _)| {
            labels
                .iter()
                .all(|(l, v)| k.contains(&format!("{l}=\"{v}\"")))
        })
        .map(|(_, v)| v)
        .sum()
}

/// Scrapes until `done` holds (the run works concurrently); returns the last scrape.
pub async fn scrape_until(
    base: &str,
    token: Option<&str>,
    mut done: impl FnMut(&Samples) -> bool,
) -> Samples {
    let started = Instant::now();
    loop {
        let (code, body) = get(base, "/metrics", token).await;
        assert_eq!(code, 200, "{body}");
        let s = parse_metrics(&body);
        if done(&s) {
            return s;
        }
        assert!(started.elapsed() < HANG, "never reached: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
