//! Where the workspace is, and which cargo to run.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The workspace xtask works on.
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    /// The workspace root (parent of `xtask/`).
    pub root: PathBuf,
    /// The cargo that started us (`$CARGO`), else `cargo` from PATH.
    pub cargo: OsString,
}

impl Workspace {
    pub(crate) fn locate() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask lives one level below the workspace root")
            .to_owned();
        Self {
            root,
            cargo: std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
        }
    }

    /// The target directory (`$CARGO_TARGET_DIR` or `<root>/target`).
    pub(crate) fn target_dir(&self) -> PathBuf {
        match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => self.root.join(dir),
            _ => self.root.join("target"),
        }
    }

    /// Where service suites keep their python venv unless they pick another path.
    pub(crate) fn default_venv_dir(&self) -> PathBuf {
        self.target_dir().join(".venv")
    }

    /// The root `Cargo.toml` (workspace and facade package `cdc`).
    pub(crate) fn manifest(&self) -> PathBuf {
        self.root.join("Cargo.toml")
    }
}
