//! Database DSNs (`postgres://user:password@host:5432/db?x=y`) split into Debezium's
//! `database.*` properties.
//!
//! Not a general URL parser on purpose: the password may be a Kafka Connect config-provider
//! reference such as `${file:/secrets.properties:pw}`, which holds `/` and `:` and must pass
//! through untouched. Text inside `${...}` is therefore never split on.

/// The parts of a database DSN.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseDsn {
    /// Scheme (`postgres`, `mysql`, ...), lower case.
    pub scheme: String,
    /// User name, percent-decoded.
    pub user: Option<String>,
    /// Password, percent-decoded (a `${...}` reference is kept verbatim).
    pub password: Option<String>,
    /// Host name or address.
    pub host: String,
    /// Port, when given.
    pub port: Option<u16>,
    /// Database name, when given.
    pub dbname: Option<String>,
    /// The query string's parameters (`?sslmode=require&...`), percent-decoded, in order.
    pub params: Vec<(String, String)>,
}

impl DatabaseDsn {
    /// The value of query parameter `key` (the last, when repeated).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for DatabaseDsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseDsn")
            .field("scheme", &self.scheme)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.dbname)
            // Names only: a value may be a credential (`?password=`).
            .field(
                "params",
                &self.params.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

pub use cdc_core::secret::is_config_provider_ref;

impl DatabaseDsn {
    /// Parses `scheme://[user[:password]@]host[:port][/dbname][?params]`. Errors never repeat
    /// the password.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or_else(|| "expected scheme://user:password@host:port/dbname".to_owned())?;
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+')
        {
            return Err("the scheme (before ://) is empty or invalid".into());
        }
        // Find the '@' ending the userinfo, skipping `${...}` references.
        let at = find_outside_refs(rest, |c| c == '@', |c| c == '/' || c == '?');
        let (userinfo, hostpart) = match at {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(ui) => match find_outside_refs(ui, |c| c == ':', |_| false) {
                Some(i) => (Some(&ui[..i]), Some(&ui[i + 1..])),
                None => (Some(ui), None),
            },
        };
        let user = user
            .filter(|u| !u.is_empty())
            .map(|u| decode_part(u, "user"))
            .transpose()?;
        let password = password
            .map(|p| {
                if is_config_provider_ref(p) {
                    Ok(p.to_owned())
                } else {
                    decode_part(p, "password")
                }
            })
            .transpose()?;
        let query = hostpart
            .split_once('?')
            .map_or("", |(_, q)| q.split('#').next().unwrap_or(""));
        let params = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                Ok((
                    decode_part(k, "query parameter name")?,
                    decode_part(v, "query parameter value")?,
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let hostpart = hostpart.split(['?', '#']).next().unwrap_or("");
        let (authority, dbname) = match hostpart.split_once('/') {
            Some((a, d)) => (a, Some(d)),
            None => (hostpart, None),
        };
        let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
            // [ipv6]:port
            let (h, after) = stripped
                .split_once(']')
                .ok_or_else(|| "unclosed '[' in the host".to_owned())?;
            (h, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err("the host is empty".into());
        }
        let port = port
            .filter(|p| !p.is_empty())
            .map(|p| {
                // Never quoted: with an unencoded '/' or '@' in the password, what is read as
                // the port may be part of the password.
                // Port 0 is no port a database listens on: the connector would fail later.
                p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                    "the port is not a number from 1 to 65535 (a password holding '/', '?', '#' \
                     or '@' must be percent-encoded)"
                        .to_owned()
                })
            })
            .transpose()?;
        let dbname = dbname
            .filter(|d| !d.is_empty())
            .map(|d| decode_part(d, "database name"))
            .transpose()?;
        Ok(Self {
            scheme: scheme.to_ascii_lowercase(),
            user,
            password,
            host: host.to_owned(),
            port,
            dbname,
            params,
        })
    }
}

/// Index of the first char matching `want` outside `${...}`, stopping (None) at a char
/// matching `stop` outside references.
fn find_outside_refs(
    s: &str,
    want: impl Fn(char) -> bool,
    stop: impl Fn(char) -> bool,
) -> Option<usize> {
    let mut depth = 0usize;
    let mut chars = s.char_indices().peekable();
    let mut last_match = None;
    while let Some((i, c)) = chars.next() {
        if c == '$' && chars.peek().map(|(_, n)| *n) == Some('{') {
            depth += 1;
            chars.next();
            continue;
        }
        if depth > 0 {
            if c == '}' {
                depth -= 1;
            }
            continue;
        }
        if want(c) {
            // For '@' the last one before the host wins (passwords may hold '@').
            last_match = Some(i);
            if c != '@' {
                return last_match;
            }
            continue;
        }
        if stop(c) {
            break;
        }
    }
    last_match
}

/// Percent-decodes one DSN part.
fn decode_part(s: &str, what: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                // Two hex digits: `from_str_radix` alone would also take a sign (`%+F`).
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("the {what} has a bad %-escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("the {what} is not UTF-8 after %-decoding"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_dsn() {
        let d =
            DatabaseDsn::parse("postgres://app:p%40ss@db.local:5433/shop?sslmode=require").unwrap();
        assert_eq!(d.scheme, "postgres");
        assert_eq!(d.user.as_deref(), Some("app"));
        assert_eq!(d.password.as_deref(), Some("p@ss"));
        assert_eq!(d.host, "db.local");
        assert_eq!(d.port, Some(5433));
        assert_eq!(d.dbname.as_deref(), Some("shop"));
        assert_eq!(d.param("sslmode"), Some("require"));
        assert!(!format!("{d:?}").contains("p@ss"));
        let d = DatabaseDsn::parse("postgres://h/db?password=s%3Dcret&sslmode=disable#x").unwrap();
        assert_eq!(d.param("password"), Some("s=cret"));
        assert!(!format!("{d:?}").contains("cret"), "{d:?}");
    }

    #[test]
    fn keeps_config_provider_reference() {
        let d = DatabaseDsn::parse("postgres://app:${file:/secrets.properties:pw}@db:5432/shop")
            .unwrap();
        assert_eq!(
            d.password.as_deref(),
            Some("${file:/secrets.properties:pw}")
        );
        assert_eq!(d.host, "db");
        assert_eq!(d.dbname.as_deref(), Some("shop"));
    }

    #[test]
    fn minimal_and_bad() {
        let d = DatabaseDsn::parse("mysql://db").unwrap();
        assert_eq!(
            (d.user, d.password, d.port, d.dbname),
            (None, None, None, None)
        );
        let d = DatabaseDsn::parse("postgres://u:a@b@[::1]:5432/x").unwrap();
        assert_eq!(d.password.as_deref(), Some("a@b"));
        assert_eq!(d.host, "::1");
        assert!(DatabaseDsn::parse("db:5432").is_err());
        let e = DatabaseDsn::parse("postgres://u:secretpw@h:notaport/x").unwrap_err();
        assert!(e.contains("port") && !e.contains("secretpw"), "{e}");
        assert!(DatabaseDsn::parse("postgres://u:p@/x").is_err());
        // Two hex digits, never a sign (which `from_str_radix` alone takes).
        for bad in ["%+F", "%-F", "%zz", "%F"] {
            let e = DatabaseDsn::parse(&format!("postgres://u:secret{bad}@h/x")).unwrap_err();
            assert!(
                e.contains("%-escape") && !e.contains("secret"),
                "{bad}: {e}"
            );
        }
        assert_eq!(
            DatabaseDsn::parse("postgres://u:a%2Fb@h/x")
                .unwrap()
                .password
                .as_deref(),
            Some("a/b")
        );
        for port in ["0", "65536", "-1"] {
            let e = DatabaseDsn::parse(&format!("postgres://u:p@h:{port}/x")).unwrap_err();
            assert!(e.contains("from 1 to 65535"), "{port}: {e}");
        }
        assert_eq!(
            DatabaseDsn::parse("postgres://h:65535").unwrap().port,
            Some(65535)
        );
    }
}
