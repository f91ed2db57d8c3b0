//! Python virtualenvs for suites that need Python tools (moto for cdc-dms).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Result;

/// Records which packages a venv was made with, so an unchanged list skips pip.
const MARKER: &str = ".xtask-packages";

/// Makes sure `dir` is a python venv with `packages` installed (pip requirement specs such as
/// `moto[server]==5.1.0`) and returns the path of its python.
///
/// Creates it with `python3 -m venv` when missing, then `pip install`s the packages; when the
/// venv was already made with the same package list, does nothing. Prints every step.
pub(crate) fn ensure_python_venv(dir: &Path, packages: &[&str]) -> Result<PathBuf> {
    let python = dir.join("bin").join("python");
    let wanted = packages.join("\n");
    let marker = dir.join(MARKER);
    if python.is_file() && std::fs::read_to_string(&marker).is_ok_and(|have| have == wanted) {
        println!("venv: {} already has {}", dir.display(), packages.join(" "));
        return Ok(python);
    }
    if !python.is_file() {
        println!("venv: creating {} (python3 -m venv)", dir.display());
        run(Command::new("python3").arg("-m").arg("venv").arg(dir))
            .map_err(|e| format!("{e} (on Debian: apt-get install python3-venv)"))?;
    }
    println!(
        "venv: pip install {} into {}",
        packages.join(" "),
        dir.display()
    );
    run(Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check"])
        .args(packages))?;
    std::fs::write(&marker, wanted).map_err(|e| format!("writing {}: {e}", marker.display()))?;
    Ok(python)
}

fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .map_err(|e| format!("could not run {command:?}: {e}"))?;
    if !status.success() {
        return Err(format!("{command:?} failed with {status}").into());
    }
    Ok(())
}
