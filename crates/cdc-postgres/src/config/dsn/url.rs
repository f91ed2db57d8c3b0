//! The URL form of a connection string (`postgres://user:pw@host:port/db?k=v`) as
//! `(key, value)` pairs, with libpq's percent-decoding.

use super::err;
use crate::error::Result;

/// `user:pw@host:port/db?k=v` (after the scheme).
///
/// The userinfo ends at the last `@` before the first `/`, so a password may hold `@`, `:`,
/// `?` and `#` unencoded; a `/` must be written `%2F` (as libpq requires).
pub(super) fn parse_url(rest: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let first_slash = rest.find('/').unwrap_or(rest.len());
    let (userinfo, after) = match rest[..first_slash].rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let hostport_end = after.find(['/', '?']).unwrap_or(after.len());
    let hostport = &after[..hostport_end];
    let tail = &after[hostport_end..];
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p.strip_prefix('/'), Some(q)),
        None => (tail.strip_prefix('/'), None),
    };
    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (userinfo, None),
        };
        pairs.push(("user".to_owned(), decode(user, "user")?));
        if let Some(pw) = password {
            pairs.push(("password".to_owned(), decode(pw, "password")?));
        }
    }
    if !hostport.is_empty() {
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| err("has an IPv6 host without its closing ']'"))?;
            (h.to_owned(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (decode(h, "host")?, Some(p)),
                None => (decode(hostport, "host")?, None),
            }
        };
        if !host.is_empty() {
            pairs.push(("host".to_owned(), host));
        }
        if let Some(port) = port.filter(|p| !p.is_empty()) {
            pairs.push(("port".to_owned(), port.to_owned()));
        }
    }
    if let Some(db) = path.filter(|p| !p.is_empty()) {
        pairs.push(("dbname".to_owned(), decode(db, "dbname")?));
    }
    for item in query.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| err("a query parameter has no '='"))?;
        let key = decode(k, "a query parameter name")?;
        let value = decode(v, &key)?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// Percent-decoding as libpq does it (no `+` → space).
fn decode(part: &str, what: &str) -> Result<String> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = part
                .get(i + 1..i + 3)
                // Two hex digits: `from_str_radix` alone would also take a sign (`%+F`).
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| err(format!("{what} has an invalid %-escape")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| err(format!("{what} is not valid UTF-8 once decoded")))
}
