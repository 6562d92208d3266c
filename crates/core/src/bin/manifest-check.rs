//! Checks micro-app manifests: every problem with its JSON path, one per line, and exit 1 when
//! there is any. `scripts/fanline.mjs check` (and every Worker build) runs it.
//! Usage: manifest-check <manifest.json>...
//!        manifest-check --features <manifest.json>   (the cargo features its Worker needs)

use fanline_core::manifest::{Manifest, Problem};
use std::process::ExitCode;

fn problems(text: &str) -> Vec<Problem> {
    // The shape first, to name the path of an unknown key or a wrong type.
    let shape: Result<Manifest, _> = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text));
    if let Err(e) = shape {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        return vec![Problem { path: if path == "." { "$".into() } else { path }, message }];
    }
    Manifest::parse_all(text).err().unwrap_or_default()
}

/// `fanline-edge/<feature>,...` for `cargo build --features`, on one line (empty for none).
fn print_features(file: &str) -> ExitCode {
    let manifest = std::fs::read_to_string(file).map_err(|e| e.to_string()).and_then(|text| Manifest::parse(&text));
    match manifest {
        Ok(manifest) => {
            let names: Vec<String> = manifest.features().iter().map(|f| format!("fanline-edge/{}", f.cargo_name())).collect();
            println!("{}", names.join(","));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{file}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, file] = files.as_slice() {
        if flag == "--features" {
            return print_features(file);
        }
    }
    if files.is_empty() {
        eprintln!("usage: manifest-check <manifest.json>...");
        return ExitCode::from(2);
    }
    let mut failed = false;
    for file in &files {
        let found = match std::fs::read_to_string(file) {
            Ok(text) => problems(&text),
            Err(e) => vec![Problem { path: "$".into(), message: format!("cannot read: {e}") }],
        };
        for p in &found {
            println!("{file}: {p}");
        }
        failed |= !found.is_empty();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
