//! The catalogue: one TOML file per checked configuration under `models/`.

use crate::model::ModelConfig;
use std::path::{Path, PathBuf};

/// The catalogue directory shipped with the crate.
pub fn default_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// Every model of a directory, sorted by name.
pub fn load_all(dir: &Path) -> Result<Vec<ModelConfig>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read model directory {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!("no models (*.toml) in {}", dir.display()));
    }
    paths.iter().map(|p| load_file(p)).collect()
}

/// A model by catalogue name, or by path to a `.toml` file.
pub fn load(dir: &Path, name_or_path: &str) -> Result<ModelConfig, String> {
    let as_path = Path::new(name_or_path);
    if name_or_path.ends_with(".toml") || as_path.components().count() > 1 {
        return load_file(as_path);
    }
    let path = dir.join(format!("{name_or_path}.toml"));
    if !path.exists() {
        let known: Vec<String> = load_all(dir)
            .map(|ms| ms.into_iter().map(|m| m.name).collect())
            .unwrap_or_default();
        return Err(format!(
            "unknown model `{name_or_path}` (known: {})",
            known.join(", ")
        ));
    }
    load_file(&path)
}

pub fn load_file(path: &Path) -> Result<ModelConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read model file {}: {e}", path.display()))?;
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    ModelConfig::parse(name, &text)
        .map_err(|e| format!("malformed model file {}: {}", path.display(), e.trim_end()))
}
