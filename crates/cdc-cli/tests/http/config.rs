//! `settings.http` and `--listen` checked: loopback unless allowed, a token that is a token,
//! every error naming its field (and never quoting the token).

use crate::common::*;

fn validate(dir: &std::path::Path, http: &str) -> (Option<i32>, String) {
    let cfg = quickstart_config(dir, &format!("  http:\n{http}"));
    let out = cdc_output(&["validate", cfg.to_str().unwrap()]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout),
    )
}

#[test]
fn a_remote_address_needs_allow_remote() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = validate(dir.path(), "    listen: 0.0.0.0:9464\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("settings.http.listen: 0.0.0.0:9464 is not a loopback address")
            && err.contains("settings.http.allow_remote: true"),
        "{err}"
    );
    let (code, err) = validate(
        dir.path(),
        "    listen: 0.0.0.0:9464\n    allow_remote: true\n",
    );
    assert_eq!(code, Some(0), "{err}");
    for (http, says) in [
        (
            "    listen: localhost:9464\n",
            "settings.http.listen: must be an IP address and port",
        ),
        (
            "    listen: 127.0.0.1\n",
            "settings.http.listen: must be an IP address and port",
        ),
        (
            "    allow_remote: yes\n",
            "settings.http.allow_remote: must be true or false",
        ),
        (
            "    lisen: 127.0.0.1:1\n",
            "settings.http: unknown key `lisen`; did you mean `listen`?",
        ),
    ] {
        let (code, err) = validate(dir.path(), http);
        assert_eq!(code, Some(2), "{http}: {err}");
        assert!(err.contains(says), "{http}: {err}");
    }
}

#[test]
fn a_bad_token_is_named_but_not_quoted() {
    let dir = tempfile::tempdir().unwrap();
    for (token, says) in [
        ("\"\"", "settings.http.token: must not be empty"),
        (
            "\"hunter2 with-space\"",
            "settings.http.token: must be printable ASCII",
        ),
        ("12345", "settings.http.token: must be a string"),
    ] {
        let (code, err) = validate(dir.path(), &format!("    token: {token}\n"));
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}

#[test]
fn listen_flag_is_checked_like_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = quickstart_config(dir.path(), "  status_file: s.json\n");
    let cfg = cfg.to_str().unwrap();
    let out = cdc_output(&["run", cfg, "--listen", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--listen: 0.0.0.0:0 is not a loopback address"),
        "{err}"
    );
    let out = cdc_output(&["run", cfg, "--listen", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--listen: must be an IP address and port"),
        "{err}"
    );
    // A port in use fails the run before any source connects.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = cdc_output(&["run", cfg, "--listen", &addr]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(!err.contains("source shop-db started"), "{err}");
}
