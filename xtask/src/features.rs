//! The facade's feature matrix, read from the root Cargo.toml so new features join by
//! themselves.

use std::path::Path;

use crate::Result;

/// Feature names of the `[features]` table, sorted, without `default`.
pub(crate) fn facade_features(manifest: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| format!("reading {}: {e}", manifest.display()))?;
    features_of(&text).map_err(|e| format!("{}: {e}", manifest.display()).into())
}

fn features_of(manifest: &str) -> Result<Vec<String>> {
    let table: toml::Table = manifest.parse()?;
    let Some(features) = table.get("features") else {
        return Ok(Vec::new());
    };
    let features = features.as_table().ok_or("[features] is not a table")?;
    let mut names: Vec<String> = features
        .keys()
        .filter(|name| name.as_str() != "default")
        .cloned()
        .collect();
    names.sort();
    Ok(names)
}

/// The `cargo check -p cdc ...` argument lists: no default features, each feature alone, all.
pub(crate) fn matrix(features: &[String]) -> Vec<(String, Vec<String>)> {
    let base = ["check", "-p", "cdc"].map(str::to_owned);
    let mut builds = vec![(
        "no-default-features".to_owned(),
        [&base[..], &["--no-default-features".to_owned()]].concat(),
    )];
    for feature in features {
        builds.push((
            feature.clone(),
            [
                &base[..],
                &[
                    "--no-default-features".to_owned(),
                    "--features".to_owned(),
                    feature.clone(),
                ],
            ]
            .concat(),
        ));
    }
    builds.push((
        "all-features".to_owned(),
        [&base[..], &["--all-features".to_owned()]].concat(),
    ));
    builds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_features_without_default() {
        let manifest = r#"
            [package]
            name = "cdc"
            [features]
            default = ["memory"]
            memory = ["dep:cdc-memory"]
            steps = ["trigger"]
            trigger = []
        "#;
        assert_eq!(
            features_of(manifest).unwrap(),
            ["memory", "steps", "trigger"]
        );
        assert!(features_of("[package]\nname = \"x\"").unwrap().is_empty());
        assert!(features_of("features = 3").is_err());
    }

    #[test]
    fn reads_the_workspace_manifest() {
        let ws = crate::workspace::Workspace::locate();
        let features = facade_features(&ws.manifest()).unwrap();
        assert!(!features.contains(&"default".to_owned()));
        let builds = matrix(&features);
        assert_eq!(builds.len(), features.len() + 2);
    }

    #[test]
    fn builds_the_matrix() {
        let builds = matrix(&["memory".to_owned(), "steps".to_owned()]);
        let names: Vec<&str> = builds.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["no-default-features", "memory", "steps", "all-features"]
        );
        assert_eq!(
            builds[1].1,
            [
                "check",
                "-p",
                "cdc",
                "--no-default-features",
                "--features",
                "memory"
            ]
        );
        assert_eq!(builds[3].1, ["check", "-p", "cdc", "--all-features"]);
    }
}
