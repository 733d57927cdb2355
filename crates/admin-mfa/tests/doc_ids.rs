//! Every requirement id the code cites is defined in `docs/`, and every test `docs/` names
//! exists.
//!
//! Comments and tests under `crates/` cite requirement ids: requirements such as `RST-1`,
//! test-catalogue entries such as `T-RL-5`, design decisions `D1`…, guardrails `G1`… and
//! policy properties `P1`…. `docs/SECURITY.md` and `docs/POLICY.md` define each one, either
//! as a table row whose first cell is the id or as a heading that starts with it. This test
//! collects the ids cited in the sources (`.rs`, `.sql`, `.toml`, `.py`, `.md` and the
//! golden `.matrix` files) and fails naming every id that no document defines, with a
//! place that cites it.
//!
//! What counts as an id (so that ordinary words never do):
//!
//! - `T-` + 2 to 5 capitals + `-` + 1 or 2 digits: a test-catalogue entry (`T-CONC-4`);
//! - 2 to 5 capitals + `-` + 1 or 2 digits: a requirement (`VER-7`), unless the capitals are
//!   an ordinary name with a number (`SHA-1`, `UTF-8`, listed in [`NOT_IDS`]);
//! - `D`, `G` or `P` + 1 or 2 digits: a decision, guardrail or property (`G7`);
//!
//! each standing alone (no letter, digit, `_` or `-` right before it, no letter, digit or
//! `_` right after it). A range expands: `PWD-1..3` cites `PWD-1`, `PWD-2` and `PWD-3`, and
//! `P1–P20` (en dash) cites `P1` to `P20`. A wildcard such as `T-LOG-*` names a group and
//! is not an id.
//!
//! The documents name tests as `` `crate-dir/path/file.rs::fn_name` `` (a path under
//! `crates/`); each such file must exist and declare `fn fn_name`.
//!
//! A new requirement family (say `INP-1`) needs no change here: define it in `docs/`. A new
//! ordinary name of that shape (capitals, `-`, one or two digits)
//! goes into [`NOT_IDS`].

#![allow(clippy::indexing_slicing, reason = "tests")]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Capitals followed by `-` and a short number that are names, not requirement ids.
const NOT_IDS: &[&str] = &["SHA", "UTF", "AES", "RFC", "ISO", "CVE", "TLS", "HTTP"];

/// File extensions under `crates/` whose text may cite ids.
const SCANNED: &[&str] = &["rs", "sql", "toml", "py", "md", "matrix"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            files(&path, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| SCANNED.contains(&e))
        {
            out.push(path);
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The number of ASCII digits at the start of `s` (up to 3, to tell 2 from more).
fn digits(s: &str) -> usize {
    s.chars().take(3).take_while(char::is_ascii_digit).count()
}

/// The ids cited in `text`, ranges expanded.
fn cited(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    // The end of the last id found: a range's upper end is not cited a second time.
    let mut consumed = 0;
    for (i, &(at, c)) in chars.iter().enumerate() {
        if at < consumed || !c.is_ascii_uppercase() {
            continue;
        }
        if i > 0 {
            let before = chars[i - 1].1;
            if is_word(before) || before == '-' {
                continue;
            }
        }
        if let Some((found, len)) = id_at(&text[at..]) {
            out.extend(found);
            consumed = at + len;
        }
    }
    out
}

/// The id (or expanded range) starting exactly at the beginning of `s`, if any, and how
/// many bytes of `s` it spans.
fn id_at(s: &str) -> Option<(Vec<String>, usize)> {
    let test = s.starts_with("T-");
    let body = if test { &s[2..] } else { s };
    let caps = body.chars().take_while(char::is_ascii_uppercase).count();
    let family = &body[..caps];
    let prefix = &s[..s.len() - body.len() + caps];
    let single = !test && caps == 1;
    if single {
        if !matches!(family, "D" | "G" | "P") {
            return None;
        }
    } else if !(2..=5).contains(&caps) || NOT_IDS.contains(&family) {
        return None;
    }
    let rest = &body[caps..];
    let number = if single {
        rest
    } else {
        rest.strip_prefix('-')?
    };
    let n = digits(number);
    if n == 0 || n > 2 {
        return None;
    }
    let after = &number[n..];
    if after.chars().next().is_some_and(is_word) {
        return None;
    }
    let first: u32 = number[..n].parse().ok()?;
    let name = |k: u32| {
        if single {
            format!("{prefix}{k}")
        } else {
            format!("{prefix}-{k}")
        }
    };
    // A range: `..N`; or `–N`, `–XN`, and for one-letter families `-XN` (`G1-G7`).
    let tail = after.strip_prefix("..").or_else(|| {
        let dash = after.strip_prefix('–');
        let hyphen = after
            .strip_prefix('-')
            .filter(|t| single && t.starts_with(prefix));
        dash.or(hyphen).map(|t| t.strip_prefix(prefix).unwrap_or(t))
    });
    let range = tail
        .and_then(|tail| {
            let m = digits(tail);
            let end = tail.get(..m).filter(|_| (1..=2).contains(&m))?;
            let followed = tail[m..].chars().next().is_some_and(is_word);
            let last = end.parse::<u32>().ok().filter(|_| !followed)?;
            Some((last, s.len() - tail.len() + m))
        })
        .filter(|(last, _)| *last > first && *last - first < 100);
    Some(match range {
        Some((last, len)) => ((first..=last).map(name).collect(), len),
        None => (vec![name(first)], s.len() - after.len()),
    })
}

/// The ids `docs/` defines: the first cell of a table row, or the start of a heading.
fn defined(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let head = if let Some(row) = line.strip_prefix('|') {
            row.split('|').next().unwrap_or("")
        } else if line.starts_with("##") {
            line.trim_start_matches('#')
                .split([' ', ':', '.'])
                .find(|w| !w.is_empty())
                .unwrap_or("")
        } else {
            continue;
        };
        let cell = head.trim().trim_matches(|c| c == '*' || c == '`');
        let ids = cited(cell);
        if ids.len() == 1 && ids[0] == cell {
            out.extend(ids);
        }
    }
    out
}

/// The `` `path::fn` `` test references of a document.
fn test_refs(text: &str) -> Vec<(String, String)> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|quoted| {
            let (path, name) = quoted.split_once("::")?;
            let ok = path.ends_with(".rs")
                && !path.contains(' ')
                && !name.is_empty()
                && name.chars().all(is_word);
            ok.then(|| (path.to_owned(), name.to_owned()))
        })
        .collect()
}

fn docs() -> Vec<(PathBuf, String)> {
    let dir = workspace().join("docs");
    let mut out: Vec<(PathBuf, String)> = fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "md"))
                .filter_map(|p| fs::read_to_string(&p).ok().map(|t| (p, t)))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn every_cited_id_is_defined_in_docs() {
    let root = workspace();
    let mut sources = Vec::new();
    files(&root.join("crates"), &mut sources);
    sources.sort();
    let this_file = Path::new(file!())
        .file_name()
        .map(std::ffi::OsStr::to_owned);
    let mut citations: BTreeMap<String, String> = BTreeMap::new();
    for path in &sources {
        if path.file_name().map(std::ffi::OsStr::to_owned) == this_file {
            continue;
        }
        let Ok(text) = fs::read_to_string(path) else {
            continue;
        };
        for (line_no, line) in text.lines().enumerate() {
            for id in cited(line) {
                citations.entry(id).or_insert_with(|| {
                    let shown = path.strip_prefix(&root).unwrap_or(path);
                    format!("{}:{}", shown.display(), line_no + 1)
                });
            }
        }
    }
    assert!(
        citations.len() > 50,
        "only {} ids found under crates/: is the scanner broken?",
        citations.len()
    );
    let docs = docs();
    assert!(!docs.is_empty(), "no docs/*.md found");
    let mut definitions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, text) in &docs {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        for id in defined(text) {
            definitions.entry(id).or_default().push(name.clone());
        }
    }
    let missing: Vec<String> = citations
        .iter()
        .filter(|(id, _)| !definitions.contains_key(*id))
        .map(|(id, at)| format!("{id} (cited at {at})"))
        .collect();
    let twice: Vec<String> = definitions
        .iter()
        .filter(|(_, places)| places.len() > 1)
        .map(|(id, places)| format!("{id} ({})", places.join(", ")))
        .collect();
    assert!(
        missing.is_empty() && twice.is_empty(),
        "\nids cited under crates/ but defined nowhere in docs/:\n  {}\nids defined more than once in docs/:\n  {}\n",
        missing.join("\n  "),
        twice.join("\n  "),
    );
}

#[test]
fn every_test_the_docs_name_exists() {
    let crates = workspace().join("crates");
    let mut checked = 0;
    let mut broken = BTreeSet::new();
    for (path, text) in docs() {
        let doc = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        for (file, name) in test_refs(&text) {
            checked += 1;
            let declared = fs::read_to_string(crates.join(&file)).is_ok_and(|source| {
                source
                    .match_indices(&format!("fn {name}"))
                    .any(|(at, m)| !source[at + m.len()..].chars().next().is_some_and(is_word))
            });
            if !declared {
                broken.insert(format!("{doc}: {file}::{name}"));
            }
        }
    }
    assert!(checked > 0, "docs/ names no test at all");
    assert!(
        broken.is_empty(),
        "\ntests named in docs/ that do not exist:\n  {}\n",
        broken.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

#[test]
fn the_id_pattern_takes_ids_and_leaves_words() {
    let ids = |s: &str| cited(s);
    assert_eq!(
        ids("see RST-1 and T-RL-5, VER-4."),
        ["RST-1", "T-RL-5", "VER-4"]
    );
    assert_eq!(ids("(D5) G7, P13: ENU-2"), ["D5", "G7", "P13", "ENU-2"]);
    assert_eq!(ids("PWD-1..3"), ["PWD-1", "PWD-2", "PWD-3"]);
    assert_eq!(ids("T-PWD-1..2"), ["T-PWD-1", "T-PWD-2"]);
    assert_eq!(ids("P1–P3 and G1-G2"), ["P1", "P2", "P3", "G1", "G2"]);
    assert_eq!(ids("`G8`, \"P4/P16\""), ["G8", "P4", "P16"]);
    for word in [
        "SHA-1",
        "SHA-256",
        "UTF-8",
        "RFC 6238",
        "T-LOG-*",
        "D123",
        "G7x",
        "G_1",
        "X-Forwarded-For",
        "AB-123",
        "CVE-2024-47070",
        "abc-RST-1",
        "RST-1a",
        "A5 7.4.3",
        "N4",
        "PD5",
        "0xD5",
    ] {
        assert!(ids(word).is_empty(), "{word:?} gave {:?}", ids(word));
    }
    assert_eq!(
        defined("| **RST-1** | meaning |\n### D5 Newest wins\n| RST-2, RST-3 | x |"),
        ["RST-1", "D5"]
    );
    assert_eq!(
        test_refs("held by `admin-mfa/tests/x.rs::t_a_b` and `not a ref` and `x.rs::`"),
        [("admin-mfa/tests/x.rs".to_owned(), "t_a_b".to_owned())]
    );
}
