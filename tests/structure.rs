//! The one-way structure, checked: every `crate::` path in a library module names only the
//! modules it may depend on. Data flows scenario → config → load + cluster → timeline (the run
//! directory) → verdict + report; a module never reaches back upstream.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module of `src/` and the modules it may name.
const ALLOWED: &[(&str, &[&str])] = &[
    ("values", &[]),
    ("autoscaling", &[]),
    ("checks", &[]),
    ("chain", &[]),
    ("expectations", &[]),
    ("lock", &[]),
    ("store", &[]),
    ("scenario", &["expectations", "values", "autoscaling"]),
    ("timeline", &["expectations"]),
    (
        "config",
        &["scenario", "values", "expectations", "autoscaling"],
    ),
    (
        "local",
        &["config", "timeline", "lock", "cluster", "autoscaling"],
    ),
    (
        "load",
        &["config", "scenario", "timeline", "lock", "values", "chain"],
    ),
    (
        "cluster",
        &["config", "timeline", "lock", "checks", "chain"],
    ),
    ("scaling", &["expectations", "timeline"]),
    (
        "verdict",
        &["expectations", "timeline", "scaling", "values"],
    ),
    (
        "doctor",
        &["checks", "cluster", "config", "timeline", "chain", "values"],
    ),
    (
        "report",
        &["expectations", "timeline", "verdict", "scaling", "values"],
    ),
    ("progress", &["timeline", "values"]),
    ("live", &["expectations", "timeline", "verdict"]),
    ("merge", &["load", "timeline"]),
    (
        "fleet",
        &[
            "cluster", "config", "load", "merge", "progress", "run", "scaling", "store", "timeline",
        ],
    ),
    (
        "run",
        &[
            "config", "load", "cluster", "local", "progress", "timeline", "scenario", "scaling",
            "checks", "live",
        ],
    ),
    (
        "cli",
        &[
            "config",
            "scenario",
            "values",
            "expectations",
            "autoscaling",
            "doctor",
        ],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_depend_only_downstream() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(m, deps)| (*m, deps.iter().copied().collect()))
        .collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut seen = BTreeSet::new();
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src");
        let module = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .expect("utf-8")
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        seen.insert(module.clone());
        let text = std::fs::read_to_string(&file).expect("read");
        // Unit tests may reach anywhere; the module's own code may not.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let deps = allowed
            .get(module.as_str())
            .unwrap_or_else(|| panic!("{module} is not in ALLOWED: place it in the flow"));
        for (i, _) in code.match_indices("crate::") {
            let name: String = code[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name != module && !deps.contains(name.as_str()) {
                wrong.push(format!("{} uses crate::{name}", rel.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the flow:\n{}",
        wrong.join("\n")
    );
    let listed: BTreeSet<String> = allowed.keys().map(|m| m.to_string()).collect();
    assert_eq!(seen, listed, "ALLOWED lists exactly the modules of src/");
}
