//! Which Debian package provides a PostgreSQL plugin or extension.

/// The Debian package that provides `name` (an output plugin or extension) for PostgreSQL
/// `major`, for error messages.
///
/// Plugins and extensions shipped with the server itself map to `postgresql-<major>`;
/// everything else follows Debian's `postgresql-<major>-<name>` pattern
/// (`wal2json` -> `postgresql-15-wal2json`).
pub fn debian_package_for(name: &str, major: u32) -> String {
    // Shipped in the server package itself (contrib is part of postgresql-<major> since 10).
    const IN_SERVER: &[&str] = &[
        "pgoutput",
        "test_decoding",
        "plpgsql",
        "pgcrypto",
        "hstore",
        "pg_stat_statements",
        "uuid-ossp",
        "citext",
        "pg_trgm",
        "btree_gist",
    ];
    if IN_SERVER.contains(&name) {
        format!("postgresql-{major}")
    } else {
        format!("postgresql-{major}-{}", name.replace('_', "-"))
    }
}

#[cfg(test)]
mod tests {
    use super::debian_package_for;

    #[test]
    fn names_debian_packages() {
        assert_eq!(debian_package_for("wal2json", 15), "postgresql-15-wal2json");
        assert_eq!(debian_package_for("test_decoding", 16), "postgresql-16");
        assert_eq!(
            debian_package_for("decoderbufs", 15),
            "postgresql-15-decoderbufs"
        );
    }
}
