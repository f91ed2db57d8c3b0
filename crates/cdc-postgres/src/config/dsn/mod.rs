//! The source's `connection`: a libpq URL (`postgres://user:pw@host:5432/db?sslmode=require`)
//! or key=value string (`host=db port=5432 user=app password='p w' dbname=shop`), parsed into
//! [`ConnParams`]. Both connections of a source (replication and SQL) are built from it.
//!
//! Errors name the parameter, never quote the string: it holds the password.
//!
//! The two syntaxes are parsed in their own files into the same `(key, value)` pairs, which
//! [`ConnParams::parse`] then checks and applies in one place.
//!
//! `connect_timeout=N` (seconds, 1 to 3600) bounds every connect, [`DEFAULT_CONNECT_TIMEOUT`]
//! when absent. `connect_timeout=0` is accepted, as libpq does, but means the default too:
//! libpq reads it as "wait forever", which a long-running service must not do.

mod key_values;
mod url;

use std::path::PathBuf;
use std::time::Duration;

use cdc_core::{Secret, SecretString};

use super::tls::SslMode;
use crate::error::{PostgresError, Result};
use key_values::parse_key_values;
use url::parse_url;

/// The default PostgreSQL port.
pub const DEFAULT_PORT: u16 = 5432;

/// The connect timeout when the connection string gives none (or `connect_timeout=0`).
///
/// libpq's own default is to wait forever; a stuck pooler or a half-open load balancer would
/// then hang `connect`, `status`, a reconnect or a snapshot worker with nothing to show. 30 s
/// is far above a healthy connect (TCP, TLS and SCRAM take milliseconds to a second, even
/// across regions) and short enough that a reconnect loop notices a dead endpoint quickly.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest `connect_timeout`, in seconds.
pub const MAX_CONNECT_TIMEOUT_SECS: u64 = 3600;

/// Where and as whom to connect.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnParams {
    /// Host name, IP address, or a unix socket directory (starting with `/`).
    pub host: String,
    /// TCP port (also the socket file's suffix).
    pub port: u16,
    /// Role to connect as.
    pub user: String,
    /// Password, when the server asks for one (a [`Secret`]: it never shows, whatever it holds).
    pub password: Option<Secret>,
    /// Database.
    pub dbname: String,
    /// `sslmode`, when the string sets it.
    pub sslmode: Option<SslMode>,
    /// `sslrootcert`: CA certificates (PEM) to verify the server with.
    pub sslrootcert: Option<PathBuf>,
    /// `sslcert`: client certificate (PEM).
    pub sslcert: Option<PathBuf>,
    /// `sslkey`: client key (PEM).
    pub sslkey: Option<PathBuf>,
    /// `application_name`.
    pub application_name: Option<String>,
    /// How long one connect may take, all of it (name lookup, TCP, TLS, startup and
    /// authentication): `connect_timeout` (seconds in the string, 1 to 3600), or
    /// [`DEFAULT_CONNECT_TIMEOUT`] when absent or 0.
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for ConnParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnParams")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field(
                "password",
                &self.password.as_ref().map(|_| cdc_core::secret::MASK),
            )
            .field("dbname", &self.dbname)
            .field("sslmode", &self.sslmode)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl ConnParams {
    /// Parses a URL or key=value connection string.
    pub fn parse(raw: &SecretString) -> Result<Self> {
        let text = raw.expose().trim();
        if text.is_empty() {
            return Err(err(
                "is empty; give a URL such as postgres://user:password@host:5432/db",
            ));
        }
        let pairs = if let Some(rest) = text
            .strip_prefix("postgres://")
            .or_else(|| text.strip_prefix("postgresql://"))
        {
            parse_url(rest)?
        } else if text.contains("://") {
            return Err(err(
                "has an unknown scheme; use postgres:// or postgresql:// (or key=value pairs)",
            ));
        } else {
            parse_key_values(text)?
        };
        Self::from_pairs(pairs)
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self> {
        let mut p = Self {
            host: String::new(),
            port: DEFAULT_PORT,
            user: String::new(),
            password: None,
            dbname: String::new(),
            sslmode: None,
            sslrootcert: None,
            sslcert: None,
            sslkey: None,
            application_name: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        };
        for (index, (key, value)) in pairs.into_iter().enumerate() {
            match key.as_str() {
                "host" | "hostaddr" => {
                    if value.contains(',') {
                        return Err(err(
                            "names several hosts; cdc-postgres connects to one server (the primary)",
                        ));
                    }
                    p.host = value;
                }
                "port" => {
                    p.port = match value.parse::<u16>() {
                        Ok(port) if port > 0 => port,
                        _ => return Err(err("the port is not a number from 1 to 65535")),
                    }
                }
                "user" => p.user = value,
                "password" => p.password = Some(Secret::new(value)),
                "dbname" => p.dbname = value,
                "sslmode" => p.sslmode = Some(SslMode::parse(&value).map_err(|_| {
                    err("sslmode is not one of disable, prefer, require, verify-ca, verify-full")
                })?),
                "sslrootcert" => p.sslrootcert = Some(PathBuf::from(value)),
                "sslcert" => p.sslcert = Some(PathBuf::from(value)),
                "sslkey" => p.sslkey = Some(PathBuf::from(value)),
                "application_name" => p.application_name = Some(value),
                "connect_timeout" => {
                    let secs: u64 = value
                        .parse()
                        .ok()
                        .filter(|s| *s <= MAX_CONNECT_TIMEOUT_SECS)
                        .ok_or_else(|| {
                            err(format!(
                                "connect_timeout is not a number of seconds from 1 to {MAX_CONNECT_TIMEOUT_SECS} (0 means the default, {} s: cdc-postgres never waits forever)",
                                DEFAULT_CONNECT_TIMEOUT.as_secs()
                            ))
                        })?;
                    // 0 is libpq's "forever": accepted, so strings shared with psql & co. work,
                    // but bounded like an absent value.
                    p.connect_timeout = match secs {
                        0 => DEFAULT_CONNECT_TIMEOUT,
                        s => Duration::from_secs(s),
                    };
                }
                // Accepted and left to the server's defaults or to our own session settings.
                "options"
                | "client_encoding"
                | "target_session_attrs"
                | "keepalives"
                | "keepalives_idle"
                | "channel_binding"
                | "gssencmode"
                | "sslcompression"
                | "sslsni"
                | "fallback_application_name" => {}
                _ => {
                    return Err(err(format!(
                        "parameter {} is not one cdc-postgres knows (known: host, port, user, password, dbname, sslmode, sslrootcert, sslcert, sslkey, application_name, connect_timeout); a password with ' ' or '/' must be quoted or %-encoded",
                        index + 1
                    )));
                }
            }
        }
        if p.user.is_empty() {
            return Err(err(
                "names no user; add one (postgres://user@host/db or user=...)",
            ));
        }
        if p.host.is_empty() {
            p.host = "localhost".to_owned();
        }
        if p.dbname.is_empty() {
            p.dbname = p.user.clone();
        }
        Ok(p)
    }

    /// Whether the host is a unix socket directory.
    pub fn is_unix_socket(&self) -> bool {
        self.host.starts_with('/')
    }

    /// Where the connection goes, for messages: `host:port` (`[::1]:5432` for IPv6), or the
    /// socket file (`/run/postgresql/.s.PGSQL.5432`). Never holds credentials.
    pub fn address(&self) -> String {
        if self.is_unix_socket() {
            format!("{}/.s.PGSQL.{}", self.host.trim_end_matches('/'), self.port)
        } else if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `postgres://user:***@host:port/db`, for messages.
    pub fn display(&self) -> String {
        let pw = if self.password.is_some() { ":***" } else { "" };
        if self.is_unix_socket() {
            format!(
                "postgres://{}{pw}@[{}]:{}/{}",
                self.user, self.host, self.port, self.dbname
            )
        } else {
            format!(
                "postgres://{}{pw}@{}:{}/{}",
                self.user, self.host, self.port, self.dbname
            )
        }
    }
}

fn err(message: impl Into<String>) -> PostgresError {
    PostgresError::config("connection", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ConnParams> {
        ConnParams::parse(&SecretString::new(s))
    }

    #[test]
    fn urls_with_every_part() {
        let p = parse("postgres://app:p%40ss%2Fw?rd@db.example:6543/shop?sslmode=verify-full&sslrootcert=/ca.pem&application_name=x").unwrap();
        assert_eq!(p.user, "app");
        assert_eq!(p.password.as_ref().unwrap().expose(), "p@ss/w?rd");
        assert_eq!(p.host, "db.example");
        assert_eq!(p.port, 6543);
        assert_eq!(p.dbname, "shop");
        assert_eq!(p.sslmode, Some(SslMode::VerifyFull));
        assert_eq!(p.sslrootcert, Some(PathBuf::from("/ca.pem")));
        assert_eq!(p.application_name.as_deref(), Some("x"));
        let dbg = format!("{p:?}");
        assert!(!dbg.contains("p@ss"), "{dbg}");
    }

    #[test]
    fn passwords_with_url_delimiters_survive() {
        // '/', '?', '#', ':' and '@' unencoded in the password: the userinfo ends at the last '@'.
        let p = parse("postgresql://u:a:b@c#d?e@h/db").unwrap();
        assert_eq!(p.password.unwrap().expose(), "a:b@c#d?e");
        assert_eq!(p.host, "h");
        let p = parse("postgresql://u:a?b@h?sslmode=disable").unwrap();
        assert_eq!(p.password.unwrap().expose(), "a?b");
        assert_eq!(p.sslmode, Some(SslMode::Disable));
        let p = parse("postgres://u@[::1]:5433/db").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("::1", 5433));
        let p = parse("postgres://u@%2Ftmp%2Fsock/db").unwrap();
        assert!(p.is_unix_socket());
        assert_eq!(p.host, "/tmp/sock");
    }

    #[test]
    fn key_values_with_quotes() {
        let p =
            parse("host=h port = 5 user=u password='a \\' b' dbname=d sslmode=require").unwrap();
        assert_eq!(p.password.unwrap().expose(), "a ' b");
        assert_eq!((p.host.as_str(), p.port, p.dbname.as_str()), ("h", 5, "d"));
        assert_eq!(p.sslmode, Some(SslMode::Require));
        let p = parse("user=u").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.dbname.as_str()),
            ("localhost", 5432, "u")
        );
    }

    #[test]
    fn connect_timeout_defaults_and_overrides() {
        assert_eq!(
            parse("user=u").unwrap().connect_timeout,
            DEFAULT_CONNECT_TIMEOUT
        );
        assert_eq!(DEFAULT_CONNECT_TIMEOUT, Duration::from_secs(30));
        for (s, want) in [
            ("user=u connect_timeout=1", 1),
            ("user=u connect_timeout=3600", 3600),
            ("postgres://u@h/db?connect_timeout=7", 7),
            // libpq's "forever" is our default, never an unbounded wait.
            ("user=u connect_timeout=0", 30),
            ("postgres://u@h/db?connect_timeout=0", 30),
        ] {
            let got = parse(s).unwrap().connect_timeout;
            assert_eq!(got, Duration::from_secs(want), "{s}");
        }
        for s in [
            "user=u connect_timeout=3601 password=secretpw",
            "user=u connect_timeout=-1 password=secretpw",
            "user=u connect_timeout=1.5 password=secretpw",
            "postgres://u:secretpw@h/db?connect_timeout=10s",
        ] {
            let e = parse(s).unwrap_err().to_string();
            assert!(
                e.contains("connect_timeout") && e.contains("1 to 3600"),
                "{s}: {e}"
            );
            assert!(!e.contains("secretpw"), "{s}: {e}");
        }
    }

    #[test]
    fn addresses_for_messages() {
        let a = |s: &str| parse(s).unwrap().address();
        assert_eq!(a("postgres://u:pw@db.example:6543/x"), "db.example:6543");
        assert_eq!(a("postgres://u@[::1]:5433/x"), "[::1]:5433");
        assert_eq!(a("host=/run/pg/ user=u"), "/run/pg/.s.PGSQL.5432");
    }

    #[test]
    fn bad_strings_name_the_parameter_and_never_the_password() {
        for (s, want) in [
            ("", "is empty"),
            ("mysql://u@h/db", "unknown scheme"),
            ("postgres://u:secretpw@h:99999/db", "port is not a number"),
            ("postgres://u:secretpw@h:abc/db", "port is not a number"),
            // A '/' unencoded in the password: parsed as host:port, and not echoed.
            ("postgres://u:secretpw/9@h/db", "port is not a number"),
            ("host=h password=secretpw", "no user"),
            ("user=u password='secretpw", "no closing quote"),
            ("user=u bogus=1 password=secretpw", "parameter 2 is not one"),
            ("user=u password=secret pw", "item 3 has no '='"),
            ("postgres://u:secretpw@h1,h2/db", "several hosts"),
            ("postgres://u:secretpw@h/db?sslmode=maybe", "sslmode"),
            ("postgres://u:secret%zzpw@h/db", "invalid %-escape"),
            ("postgres://u:secret%+Fpw@h/db", "invalid %-escape"),
            ("postgres://u:secret%-Fpw@h/db", "invalid %-escape"),
            ("user=u password secretpw", "no '='"),
            ("user=u secretpw=1", "parameter 2"),
        ] {
            let e = parse(s).unwrap_err().to_string();
            assert!(e.contains(want), "{s:?}: {e}");
            for part in ["secretpw", "secret", "pw\"", "secret%zz", "9@h"] {
                assert!(!e.contains(part), "{s:?}: {e}");
            }
            assert!(e.contains("connection"), "{e}");
        }
    }
}
