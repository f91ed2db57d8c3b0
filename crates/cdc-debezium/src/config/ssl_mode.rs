//! The database DSN's `sslmode` as the connector's own TLS setting. Debezium connects to the
//! database itself; dropping the DSN's `sslmode` would leave the connector at its default
//! (`prefer` / `preferred`: no certificate check), silently weaker than what the user wrote.
//!
//! | DSN `sslmode` | PostgreSQL `database.sslmode` | MySQL `database.ssl.mode` |
//! |---|---|---|
//! | `disable` | `disable` | `disabled` |
//! | `allow`, `prefer` | as written | `preferred` |
//! | `require` | `require` | `required` |
//! | `verify-ca` | `verify-ca` | `verify_ca` |
//! | `verify-full` | `verify-full` | `verify_identity` |
//!
//! MySQL's own names are taken for a MySQL DSN too. `sslrootcert` becomes PostgreSQL's
//! `database.sslrootcert`. For the other connectors, whose TLS settings have other shapes, an
//! `sslmode` in the DSN is refused, naming the property to set in `connector_config`.

use super::DatabaseKind;
use super::dsn::DatabaseDsn;

/// The connector properties for the DSN's TLS parameters, or why they cannot be given.
pub(super) fn ssl_properties(
    kind: DatabaseKind,
    dsn: &DatabaseDsn,
) -> Result<Vec<(&'static str, String)>, String> {
    let mut out = Vec::new();
    if let Some(mode) = dsn.param("sslmode") {
        let known = || {
            format!(
                "sslmode {mode:?} is not one of disable, allow, prefer, require, verify-ca, \
                 verify-full"
            )
        };
        match kind {
            DatabaseKind::Postgres => {
                if !matches!(
                    mode,
                    "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full"
                ) {
                    return Err(known());
                }
                out.push(("database.sslmode", mode.to_owned()));
            }
            DatabaseKind::MySql => {
                let mysql = match mode {
                    "disable" | "disabled" => "disabled",
                    "allow" | "prefer" | "preferred" => "preferred",
                    "require" | "required" => "required",
                    "verify-ca" | "verify_ca" => "verify_ca",
                    "verify-full" | "verify_identity" => "verify_identity",
                    _ => return Err(known()),
                };
                out.push(("database.ssl.mode", mysql.to_owned()));
            }
            DatabaseKind::MariaDb | DatabaseKind::SqlServer | DatabaseKind::MongoDb => {
                return Err(format!(
                    "sslmode is read for postgres and mysql DSNs only; for {} set the \
                     connector's own TLS properties in options.connector_config",
                    kind.as_str()
                ));
            }
        }
    }
    if let Some(cert) = dsn.param("sslrootcert") {
        if kind != DatabaseKind::Postgres {
            return Err("sslrootcert is read for postgres DSNs only".into());
        }
        out.push(("database.sslrootcert", cert.to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kind: DatabaseKind, dsn: &str) -> Result<Vec<(&'static str, String)>, String> {
        ssl_properties(kind, &DatabaseDsn::parse(dsn).unwrap())
    }

    #[test]
    fn every_libpq_mode_reaches_the_connector_in_its_own_words() {
        for (mode, pg, my) in [
            ("disable", "disable", "disabled"),
            ("prefer", "prefer", "preferred"),
            ("require", "require", "required"),
            ("verify-ca", "verify-ca", "verify_ca"),
            ("verify-full", "verify-full", "verify_identity"),
        ] {
            let url = format!("x://h/db?sslmode={mode}");
            assert_eq!(
                props(DatabaseKind::Postgres, &url).unwrap(),
                [("database.sslmode", pg.to_owned())]
            );
            assert_eq!(
                props(DatabaseKind::MySql, &url).unwrap(),
                [("database.ssl.mode", my.to_owned())]
            );
        }
        assert_eq!(
            props(DatabaseKind::MySql, "mysql://h/db?sslmode=verify_identity").unwrap(),
            [("database.ssl.mode", "verify_identity".to_owned())]
        );
        assert_eq!(
            props(
                DatabaseKind::Postgres,
                "postgres://h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem"
            )
            .unwrap(),
            [
                ("database.sslmode", "verify-full".to_owned()),
                ("database.sslrootcert", "/etc/ca.pem".to_owned())
            ]
        );
        assert!(
            props(DatabaseKind::Postgres, "postgres://h/db")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn what_cannot_be_passed_on_is_refused_naming_it() {
        for (kind, dsn, want) in [
            (
                DatabaseKind::Postgres,
                "postgres://h/db?sslmode=strict",
                "\"strict\"",
            ),
            (
                DatabaseKind::MySql,
                "mysql://h/db?sslmode=verify-all",
                "\"verify-all\"",
            ),
            (
                DatabaseKind::SqlServer,
                "sqlserver://h/db?sslmode=require",
                "connector_config",
            ),
            (
                DatabaseKind::MariaDb,
                "mariadb://h/db?sslmode=require",
                "connector_config",
            ),
            (
                DatabaseKind::MySql,
                "mysql://h/db?sslrootcert=ca.pem",
                "postgres DSNs only",
            ),
        ] {
            let e = props(kind, dsn).unwrap_err();
            assert!(e.contains(want), "{dsn}: {e}");
        }
    }
}
