//! The one-way structure, checked: every `crate::` path in a library module names only the
//! modules it may depend on. Data flows scenario → config → load + cluster → timeline (the run
//! directory) → verdict + report; a module never reaches back upstream.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module of `src/` and the modules it may name.
const ALLOWED: &[(&str, &[&str])] = &[
    ("spec", &[]),
    ("support", &[]),
    ("scenario", &["spec"]),
    ("timeline", &["spec"]),
    ("config", &["scenario", "spec", "support"]),
    (
        "local",
        &["config", "timeline", "support", "cluster", "spec"],
    ),
    (
        "load",
        &["config", "scenario", "timeline", "support", "spec"],
    ),
    ("cluster", &["config", "timeline", "support"]),
    ("scaling", &["spec", "timeline"]),
    ("verdict", &["spec", "timeline", "scaling"]),
    (
        "doctor",
        &["support", "cluster", "config", "timeline", "spec"],
    ),
    ("report", &["spec", "timeline", "verdict", "scaling"]),
    ("live", &["spec", "timeline", "verdict"]),
    ("merge", &["load", "timeline", "spec"]),
    (
        "fleet",
        &[
            "cluster", "config", "load", "merge", "run", "scaling", "timeline",
        ],
    ),
    (
        "run",
        &[
            "config", "load", "cluster", "local", "timeline", "scenario", "scaling", "support",
            "live", "spec",
        ],
    ),
    ("cli", &["config", "scenario", "spec", "doctor"]),
    (
        "compare",
        &[
            "capacity", "cli", "load", "report", "timeline", "spec", "scaling", "verdict",
            "support",
        ],
    ),
    (
        "capacity",
        &[
            "cli", "cluster", "config", "local", "load", "merge", "report", "run", "scenario",
            "spec", "timeline", "support",
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(m, deps)| (*m, deps.iter().copied().collect()))
        .collect();
    // The scaleproof crate and the evidence crate it re-exports: one module tree to the reader.
    let mut files = Vec::new();
    for src in [root.join("src"), root.join("crates/evidence/src")] {
        let mut here = Vec::new();
        rust_files(&src, &mut here);
        files.extend(here.into_iter().map(|f| (src.clone(), f)));
    }
    let mut seen = BTreeSet::new();
    let mut wrong = Vec::new();
    for (src, file) in files {
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
        let code = code_of(&text);
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

/// The modules of crates/evidence, which compile beside Goose and kube in a cold build.
const EVIDENCE: &[&str] = &["report", "scaling", "spec", "timeline", "verdict"];

#[test]
fn the_evidence_crate_holds_the_downstream_modules_and_needs_no_load_or_cluster_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest =
        std::fs::read_to_string(root.join("crates/evidence/Cargo.toml")).expect("manifest");
    let deps: toml::Table = manifest.parse::<toml::Table>().expect("toml")["dependencies"]
        .as_table()
        .expect("[dependencies]")
        .clone();
    for heavy in [
        "goose",
        "kube",
        "k8s-openapi",
        "reqwest",
        "hyper",
        "target-service",
    ] {
        assert!(
            !deps.contains_key(heavy),
            "crates/evidence depends on {heavy}"
        );
    }
    // …and no module of the evidence crate depends on a module outside it.
    for (module, needs) in ALLOWED {
        if EVIDENCE.contains(module) {
            for n in *needs {
                assert!(
                    EVIDENCE.contains(n),
                    "{module} may use {n}, outside crates/evidence"
                );
            }
            assert!(
                root.join("crates/evidence/src").join(module).is_dir(),
                "{module}"
            );
        }
    }
}

/// The longest a source file may grow (`STYLE.md`: ~600 lines, 650 the hard limit).
const MAX_LINES: usize = 650;

/// The `src/` folders of the workspace's crates.
fn crate_sources() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    vec![
        root.join("src"),
        root.join("crates/evidence/src"),
        root.join("target-service").join("src"),
    ]
}

#[test]
fn no_source_file_is_longer_than_the_limit_and_each_says_what_it_owns() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (mut long, mut undocumented) = (Vec::new(), Vec::new());
    for src in crate_sources() {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read");
            let rel = file.strip_prefix(root).expect("in the workspace");
            let lines = text.lines().count();
            if lines > MAX_LINES {
                long.push(format!("{} ({lines} lines)", rel.display()));
            }
            if !text.starts_with("//! ") {
                undocumented.push(rel.display().to_string());
            }
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines: split them along what they do:\n{}",
        long.join("\n")
    );
    assert!(
        undocumented.is_empty(),
        "files whose first line is not a `//!` saying what the module owns:\n{}",
        undocumented.join("\n")
    );
}

/// A module's path from its crate root: `src/lib.rs` → [], `src/a/mod.rs` → [a],
/// `src/a/b.rs` → [a, b].
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_str().expect("utf-8").to_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_owned());
    }
    parts
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// A file's own code: what stands before its unit tests, which may reach anywhere.
fn code_of(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or_default()
}

/// Every path that starts at `crate`, `super`, `self` or a child module in `code`, with
/// `use` groups (`a::{b, c::d}`) expanded: each as its segments, `*` for a glob.
fn paths_in(code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_ident(bytes[i]) || (i > 0 && (is_ident(bytes[i - 1]) || bytes[i - 1] == b':')) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_ident(bytes[i]) {
            i += 1;
        }
        let word = &code[start..i];
        let rooted = matches!(word, "crate" | "super" | "self") || children.contains(word);
        if rooted && code[i..].starts_with("::") {
            let (trees, end) = path_tree(code, start);
            out.extend(trees);
            i = end;
        }
    }
    out
}

/// The path tree that starts at `at`: its expanded paths and where it ends.
fn path_tree(code: &str, mut at: usize) -> (Vec<Vec<String>>, usize) {
    let bytes = code.as_bytes();
    let skip_space = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let mut prefix = Vec::new();
    loop {
        at = skip_space(at);
        if at < bytes.len() && bytes[at] == b'{' {
            let mut paths = Vec::new();
            at += 1;
            loop {
                at = skip_space(at);
                if at >= bytes.len() || bytes[at] == b'}' {
                    return (paths, at + 1);
                }
                if bytes[at] == b',' {
                    at += 1;
                    continue;
                }
                let (inner, end) = path_tree(code, at);
                for p in inner {
                    let mut full = prefix.clone();
                    full.extend(p);
                    paths.push(full);
                }
                at = end;
            }
        }
        if at < bytes.len() && bytes[at] == b'*' {
            prefix.push("*".to_owned());
            return (vec![prefix], at + 1);
        }
        let start = at;
        while at < bytes.len() && is_ident(bytes[at]) {
            at += 1;
        }
        if at == start {
            return (vec![prefix], at);
        }
        prefix.push(code[start..at].to_owned());
        if !code[at..].starts_with("::") {
            return (vec![prefix], at);
        }
        at += 2;
    }
}

/// The files of one crate that import each other (a module's own `mod.rs` and its direct
/// children excepted: the front door declares and re-exports what the rooms hold).
fn two_way_imports(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    // Unit-test files reach where they like.
    files.retain(|f| f.file_name().is_some_and(|n| n != "tests.rs"));
    let modules: BTreeMap<Vec<String>, std::path::PathBuf> = files
        .iter()
        .map(|f| (module_path(src, f), f.clone()))
        .collect();
    let texts: BTreeMap<Vec<String>, String> = modules
        .iter()
        .map(|(m, f)| {
            let text = std::fs::read_to_string(f).expect("read");
            (m.clone(), code_of(&text).to_owned())
        })
        .collect();
    let children_of = |m: &[String]| -> BTreeSet<String> {
        modules
            .keys()
            .filter(|c| c.len() == m.len() + 1 && c.starts_with(m))
            .map(|c| c[m.len()].clone())
            .collect()
    };
    // `pub use child::…::Name` in a module's front door: Name lives in that child.
    let mut reexports: BTreeMap<(Vec<String>, String), Vec<String>> = BTreeMap::new();
    for (m, code) in &texts {
        let children = children_of(m);
        for line in code.lines().map(str::trim) {
            let Some(rest) = line
                .strip_prefix("pub use ")
                .or_else(|| line.strip_prefix("pub(crate) use "))
                .or_else(|| line.strip_prefix("pub(super) use "))
            else {
                continue;
            };
            let (paths, _) = path_tree(rest, 0);
            for p in paths.iter().filter(|p| children.contains(&p[0])) {
                if let Some(name) = p.last().filter(|n| *n != "*") {
                    let mut child = m.clone();
                    child.push(p[0].clone());
                    reexports.insert((m.clone(), name.clone()), child);
                }
            }
        }
    }
    let file_of = |abs: &[String]| -> Option<Vec<String>> {
        let mut n = abs.len();
        while n > 0 && !modules.contains_key(&abs[..n]) {
            n -= 1;
        }
        let module = abs[..n].to_vec();
        if let Some(child) = abs
            .get(n)
            .and_then(|item| reexports.get(&(module.clone(), item.clone())))
        {
            return Some(child.clone());
        }
        modules.contains_key(&module).then_some(module)
    };
    let mut edges: BTreeSet<(Vec<String>, Vec<String>)> = BTreeSet::new();
    for (m, code) in &texts {
        for path in paths_in(code, &children_of(m)) {
            // `crate::` starts at the root; `self::`, `super::` and a child's name here.
            let mut abs: Vec<String> = if path[0] == "crate" {
                Vec::new()
            } else {
                m.clone()
            };
            let mut rest = &path[..];
            if rest[0] == "crate" || rest[0] == "self" {
                rest = &rest[1..];
            }
            while rest.first().is_some_and(|s| s == "super") {
                abs.pop();
                rest = &rest[1..];
            }
            abs.extend(rest.iter().cloned());
            if let Some(target) = file_of(&abs).filter(|t| t != m) {
                edges.insert((m.clone(), target));
            }
        }
    }
    let parent_child = |a: &Vec<String>, b: &Vec<String>| {
        (b.len() == a.len() + 1 && b.starts_with(a)) || (a.len() == b.len() + 1 && a.starts_with(b))
    };
    edges
        .iter()
        .filter(|(a, b)| a < b && edges.contains(&(b.clone(), a.clone())) && !parent_child(a, b))
        .map(|(a, b)| format!("{} <-> {}", modules[a].display(), modules[b].display()))
        .collect()
}

#[test]
fn no_two_files_import_each_other() {
    let mut pairs = Vec::new();
    for src in crate_sources() {
        pairs.extend(two_way_imports(&src));
    }
    assert!(
        pairs.is_empty(),
        "files that import each other (move the shared type where both can depend on it one way):\n{}",
        pairs.join("\n")
    );
}

#[test]
fn two_way_imports_are_found_through_groups_and_reexports() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    std::fs::create_dir_all(src.join("a")).expect("mkdir");
    std::fs::write(src.join("lib.rs"), "pub mod a;\n").expect("write");
    std::fs::write(src.join("a/mod.rs"), "mod b;\nmod c;\npub use c::Shared;\n").expect("write");
    std::fs::write(
        src.join("a/b.rs"),
        "use super::{c::{self, Other}, Shared};\n",
    )
    .expect("write");
    std::fs::write(
        src.join("a/c.rs"),
        "pub struct Shared;\nfn f() { crate::a::b::g(); }\n",
    )
    .expect("write");
    let pairs = two_way_imports(src);
    let expected = format!(
        "{} <-> {}",
        src.join("a/b.rs").display(),
        src.join("a/c.rs").display()
    );
    assert_eq!(pairs, vec![expected]);
    std::fs::write(src.join("a/c.rs"), "pub struct Shared;\n").expect("write");
    assert_eq!(two_way_imports(src), Vec::<String>::new());
}

/// Markdown files a reader opens: the README and every chapter of `docs/`.
fn markdown_files() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let mut broken = Vec::new();
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).expect("read");
        let dir = file.parent().expect("a folder");
        for (i, _) in text.match_indices("](") {
            let target: String = text[i + 2..].chars().take_while(|c| *c != ')').collect();
            let path = target.split('#').next().unwrap_or_default();
            if path.is_empty() || path.contains("://") || path.starts_with("mailto:") {
                continue;
            }
            if !dir.join(path).exists() {
                broken.push(format!("{}: {target}", file.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to nothing:\n{}",
        broken.join("\n")
    );
}

#[test]
fn readme_is_a_few_screens_and_docs_are_chapters() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let lines = readme.lines().count();
    assert!(lines <= 300, "README.md is {lines} lines");
    assert!(
        readme.contains("cargo test --workspace"),
        "README names the test command"
    );
    let files = markdown_files();
    let chapters = &files[1..];
    assert!(chapters.len() >= 5, "docs/ has {} chapters", chapters.len());
    for file in chapters {
        let text = std::fs::read_to_string(file).expect("read");
        assert!(
            text.starts_with("# "),
            "{} opens with its title",
            file.display()
        );
        assert!(
            readme.contains(&format!(
                "docs/{}",
                file.file_name().and_then(|n| n.to_str()).expect("utf-8")
            )),
            "README's index lists {}",
            file.display()
        );
    }
}
