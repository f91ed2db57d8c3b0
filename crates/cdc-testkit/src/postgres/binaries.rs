//! Finding the PostgreSQL server binaries (`initdb`, `postgres`).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Result, TestkitError};

/// Where the PostgreSQL server binaries are, and which version they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    bindir: PathBuf,
    version: String,
    major: u32,
    /// Names of the server settings this build knows (`postgres --describe-config`).
    settings: BTreeSet<String>,
    /// Where the server loads plugins from (`$libdir`).
    pkglibdir: PathBuf,
}

/// The inputs of the search, separated from the process environment so tests can drive it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Search {
    /// `CDC_PG_BINDIR`, if set and non-empty.
    pub env_bindir: Option<PathBuf>,
    /// What `pg_config --bindir` printed, if pg_config ran.
    pub pg_config_bindir: Option<PathBuf>,
    /// Debian's versioned install root, normally `/usr/lib/postgresql`.
    pub debian_root: PathBuf,
    /// `PATH`.
    pub path: Option<OsString>,
}

impl Search {
    fn from_env() -> Self {
        let pg_config_bindir = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .map(|s| PathBuf::from(s.trim()))
            .filter(|p| !p.as_os_str().is_empty());
        Self {
            env_bindir: std::env::var_os("CDC_PG_BINDIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            pg_config_bindir,
            debian_root: PathBuf::from("/usr/lib/postgresql"),
            path: std::env::var_os("PATH"),
        }
    }

    /// Applies the search order: CDC_PG_BINDIR, `pg_config --bindir`, the highest
    /// `/usr/lib/postgresql/<ver>/bin`, then PATH. CDC_PG_BINDIR is authoritative: if it is set
    /// and wrong, that is an error rather than a silent fall-through to another version.
    pub(crate) fn find_bindir(&self) -> Result<PathBuf> {
        if let Some(dir) = &self.env_bindir {
            for bin in ["initdb", "postgres"] {
                if !is_executable(&dir.join(bin)) {
                    return Err(TestkitError::BadBinDir {
                        dir: dir.clone(),
                        missing: bin,
                    });
                }
            }
            return Ok(dir.clone());
        }
        let mut searched = vec!["CDC_PG_BINDIR (unset)".to_owned()];
        match &self.pg_config_bindir {
            // pg_config may come from a client-only package: check the server is there too.
            Some(dir) if has_server(dir) => return Ok(dir.clone()),
            Some(dir) => searched.push(format!("pg_config --bindir ({})", dir.display())),
            None => searched.push("pg_config --bindir (no pg_config)".to_owned()),
        }
        if let Some(dir) = highest_versioned_bindir(&self.debian_root) {
            return Ok(dir);
        }
        searched.push(format!("{}/*/bin", self.debian_root.display()));
        if let Some(path) = &self.path {
            for dir in std::env::split_paths(path) {
                if has_server(&dir) {
                    return Ok(dir);
                }
            }
        }
        searched.push("PATH".to_owned());
        Err(TestkitError::BinariesNotFound {
            searched: searched.join(", "),
        })
    }
}

impl PgBinaries {
    /// Finds the server binaries: env `CDC_PG_BINDIR` first, then `pg_config --bindir`, then the
    /// highest `/usr/lib/postgresql/<ver>/bin`, then `PATH`.
    ///
    /// Fails with [`TestkitError::BinariesNotFound`], which says what to install, when none of
    /// these holds both `initdb` and `postgres`.
    pub fn locate() -> Result<Self> {
        Self::at(Search::from_env().find_bindir()?)
    }

    /// Uses the binaries in `bindir` (which must hold `initdb` and `postgres`).
    pub fn at(bindir: impl Into<PathBuf>) -> Result<Self> {
        let bindir = bindir.into();
        let postgres = bindir.join("postgres");
        // `postgres --version` is answered before the server's refuse-to-run-as-root check.
        let out = Command::new(&postgres)
            .arg("--version")
            .output()
            .map_err(|e| {
                TestkitError::io(format!("running {} --version", postgres.display()), e)
            })?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let major = parse_major(&version).ok_or_else(|| {
            TestkitError::io(
                format!("reading the version of {}", postgres.display()),
                std::io::Error::other(format!(
                    "unexpected `postgres --version` output {version:?}"
                )),
            )
        })?;
        // Also answered before the root check. Minor releases add settings (15.x gained
        // `output_plugin_libraries`), so we ask the binary rather than guess from the version.
        let described = Command::new(&postgres)
            .arg("--describe-config")
            .output()
            .map_err(|e| {
                TestkitError::io(
                    format!("running {} --describe-config", postgres.display()),
                    e,
                )
            })?;
        let settings = String::from_utf8_lossy(&described.stdout)
            .lines()
            .filter_map(|line| line.split('\t').next())
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect();
        let pkglibdir = pkglibdir_of(&bindir);
        Ok(Self {
            bindir,
            version,
            major,
            settings,
            pkglibdir,
        })
    }

    /// The directory holding `initdb`, `postgres`, `pg_ctl`.
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// Path of a binary in [`PgBinaries::bindir`], e.g. `bin("initdb")`.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }

    /// The full `postgres --version` line, e.g. `postgres (PostgreSQL) 15.20 (Debian ...)`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The major version, e.g. `15` (used in Debian package names).
    pub fn major(&self) -> u32 {
        self.major
    }

    /// The server's `$libdir`, where output plugins and extension libraries live
    /// (`<bindir>/pg_config --pkglibdir`, else `<bindir>/../lib` as on Debian).
    pub fn pkglibdir(&self) -> &Path {
        &self.pkglibdir
    }

    /// Whether this server build knows the setting `name` (e.g. `output_plugin_libraries`).
    pub fn has_setting(&self, name: &str) -> bool {
        self.settings.contains(name)
    }
}

/// `postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)` -> 15; `... 9.6.24` -> 9.
fn parse_major(version: &str) -> Option<u32> {
    let number = version
        .split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
    let major: String = number.chars().take_while(char::is_ascii_digit).collect();
    major.parse().ok()
}

/// The pg_config next to the server knows its `$libdir`; the one on PATH may belong to
/// another version, so it is not asked.
fn pkglibdir_of(bindir: &Path) -> PathBuf {
    Command::new(bindir.join("pg_config"))
        .arg("--pkglibdir")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| PathBuf::from(s.trim()))
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| bindir.join("..").join("lib"))
}

fn has_server(dir: &Path) -> bool {
    is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres"))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The `<root>/<ver>/bin` with the highest numeric `<ver>` that holds a server.
fn highest_versioned_bindir(root: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(root).ok()?;
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: Vec<u32> = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(|part| part.parse().ok())
                .collect::<Option<_>>()?;
            let bindir = entry.path().join("bin");
            has_server(&bindir).then_some((version, bindir))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bindir)| bindir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_server(dir: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir).unwrap();
        for bin in ["initdb", "postgres"] {
            let path = dir.join(bin);
            std::fs::write(&path, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    #[test]
    fn parses_major_versions() {
        assert_eq!(
            parse_major("postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"),
            Some(15)
        );
        assert_eq!(parse_major("postgres (PostgreSQL) 9.6.24"), Some(9));
        assert_eq!(parse_major("postgres (PostgreSQL) 17devel"), Some(17));
        assert_eq!(parse_major("garbage"), None);
    }

    #[test]
    fn nothing_found_says_what_to_install() {
        let empty = tempfile::tempdir().unwrap();
        let search = Search {
            env_bindir: None,
            pg_config_bindir: Some(empty.path().join("client-only")),
            debian_root: empty.path().join("no-such-root"),
            path: Some(empty.path().as_os_str().to_owned()),
        };
        let err = search.find_bindir().unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, TestkitError::BinariesNotFound { .. }),
            "{msg}"
        );
        assert!(msg.contains("apt-get install postgresql"), "{msg}");
        assert!(msg.contains("CDC_PG_BINDIR"), "{msg}");
        assert!(msg.contains("client-only"), "{msg}");
    }

    #[test]
    fn env_bindir_wins_and_must_be_complete() {
        let tmp = tempfile::tempdir().unwrap();
        let mut search = Search {
            env_bindir: Some(tmp.path().join("custom")),
            debian_root: tmp.path().to_owned(),
            ..Search::default()
        };
        let err = search.find_bindir().unwrap_err();
        assert!(
            matches!(
                err,
                TestkitError::BadBinDir {
                    missing: "initdb",
                    ..
                }
            ),
            "{err}"
        );
        fake_server(&tmp.path().join("custom"));
        fake_server(&tmp.path().join("16/bin"));
        assert_eq!(search.find_bindir().unwrap(), tmp.path().join("custom"));
        search.env_bindir = None;
        assert_eq!(search.find_bindir().unwrap(), tmp.path().join("16/bin"));
    }

    #[test]
    fn picks_the_highest_numeric_version() {
        let tmp = tempfile::tempdir().unwrap();
        for version in ["9.6", "13", "15", "notaversion"] {
            fake_server(&tmp.path().join(version).join("bin"));
        }
        // 16 exists but holds only client binaries: skipped.
        std::fs::create_dir_all(tmp.path().join("16/bin")).unwrap();
        assert_eq!(
            highest_versioned_bindir(tmp.path()),
            Some(tmp.path().join("15/bin"))
        );
    }

    #[test]
    fn falls_back_to_path() {
        let tmp = tempfile::tempdir().unwrap();
        fake_server(&tmp.path().join("b"));
        let path = std::env::join_paths([tmp.path().join("a"), tmp.path().join("b")]).unwrap();
        let search = Search {
            debian_root: tmp.path().join("none"),
            path: Some(path),
            ..Search::default()
        };
        assert_eq!(search.find_bindir().unwrap(), tmp.path().join("b"));
    }
}
