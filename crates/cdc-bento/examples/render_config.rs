//! Renders the Bento stream config of a source config read from stdin (DSNs masked):
//!
//! ```text
//! cargo run -p cdc-bento --example render_config < source.yaml
//! ```

use std::io::Read;

use cdc_bento::BentoOptions;
use cdc_bento::generate::{SourceSpec, generate};
use cdc_bento::stream::Reveal;
use cdc_core::SourceConfig;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let config = SourceConfig::from_yaml(&text)?;
    config.validate()?;
    let options: BentoOptions = config.typed_options()?;
    let stream = generate(&SourceSpec::from_config(&config), &options)?;
    print!("{}", stream.config.to_yaml(Reveal::Masked)?);
    if let Some(pg) = stream.postgres {
        eprintln!("-- slot creation SQL:\n{};", pg.create_slot_sql);
    }
    Ok(())
}
