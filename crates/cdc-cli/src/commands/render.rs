//! `cdc render FILE [--source ID] [--show-secrets]`: the provider-native config of each
//! source.

use crate::config::{ConfigFile, hint};
use crate::error::CliError;
use crate::native;

/// Prints each source's rendered config under a `# source ...` header.
pub fn run(cfg: &ConfigFile, only: Option<&str>, reveal: bool) -> Result<(), CliError> {
    let sources: Vec<_> = match only {
        Some(id) => match cfg.source(id) {
            Some(s) => vec![s],
            None => {
                let ids: Vec<&str> = cfg.sources.iter().map(|s| s.source_id.as_str()).collect();
                return Err(CliError::Usage(format!(
                    "--source {id:?}: no such source in {}{}; sources: {}",
                    cfg.path.display(),
                    hint(id, ids.iter().copied()),
                    ids.join(", ")
                )));
            }
        },
        None => cfg.sources.iter().collect(),
    };
    for (i, source) in sources.iter().enumerate() {
        let rendered = native::render(source, reveal)
            .map_err(|e| CliError::Usage(format!("source {:?}: {e}", source.source_id)))?;
        if i > 0 {
            println!();
        }
        println!(
            "# source {} (provider {}): {}",
            source.source_id, source.provider, rendered.what
        );
        print!("{}", rendered.text);
        if !rendered.text.ends_with('\n') {
            println!();
        }
    }
    Ok(())
}
