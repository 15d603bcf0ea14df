//! What the pages offer, read from the source: every action that writes
//! (one that runs a write transaction through `src/actions/run.rs`) is
//! called by some page, so that no one needs the API to do their job —
//! except the few a machine performs (a pump's holds and uploads, a
//! reader's exchange, an API client's login). A new write action without a
//! page fails here until it gets one, or is named below with the reason.
//! And the faces only translate: nothing under `src/http` reaches the
//! database or runs a write transaction of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Write actions no person performs from a page, and why. (A reader's
/// exchanges go through the chip room's own transactions, and an API
/// client's login through the session's: they are not counted here.)
const MACHINE_ONLY: &[(&str, &str, &str)] = &[
    (
        "holds",
        "place",
        "a pump reserves the amount on the card before it delivers fuel",
    ),
    (
        "holds",
        "capture",
        "a pump captures what it delivered once the nozzle is back",
    ),
    (
        "holds",
        "void",
        "a pump releases its reservation when nothing was delivered",
    ),
    (
        "chip",
        "upload_purchase",
        "a pump uploads the purchases the card's chip made there, signed by the chip",
    ),
    (
        "jobs",
        "sweep",
        "the server's timer releases expired holds and purges what has expired, every minute",
    ),
    (
        "jobs",
        "grade_customers",
        "the server grades the customers when a month begins",
    ),
    (
        "jobs",
        "draft_due_plans",
        "the server drafts the fleets' allocation plans on their allocation day",
    ),
];

/// The run helpers a write action goes through.
const WRITES: &[&str] = &[
    "create(",
    "create_at(",
    "once(",
    "once_at(",
    "idempotent(",
    "idempotent_then(",
    "begin_write(",
];

fn read_dir(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            out.push((name, std::fs::read_to_string(&path).expect("a source file")));
        }
    }
    out
}

/// The public actions of a module of `src/actions` that write.
fn write_actions(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in source.match_indices("\npub async fn ") {
        let rest = &source[at + "\npub async fn ".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let body = rest.split("\n}\n").next().unwrap_or(rest);
        if WRITES.iter().any(|w| body.contains(w)) {
            found.push(name);
        }
    }
    found
}

/// How a page file names the actions: the names it calls a module of
/// `src/actions` by, and the functions it imports from one.
#[derive(Default)]
struct Names {
    modules: BTreeMap<String, BTreeSet<String>>,
    functions: BTreeMap<String, BTreeSet<String>>,
}

fn is_module(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
}

fn names(source: &str) -> Names {
    let mut n = Names::default();
    for (at, _) in source.match_indices("use crate::actions::") {
        let rest = &source[at + "use crate::actions::".len()..];
        // One line, single spaces, none beside braces, commas and paths.
        let mut statement = rest
            .split(';')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for sign in ["{", "}", ",", "::"] {
            statement = statement
                .replace(&format!(" {sign}"), sign)
                .replace(&format!("{sign} "), sign);
        }
        let alias = |item: &str| -> (String, String) {
            match item.split_once(" as ") {
                Some((name, alias)) => (name.to_string(), alias.to_string()),
                None => (item.to_string(), item.to_string()),
            }
        };
        if let Some(items) = statement
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
        {
            for item in items
                .split(',')
                .filter(|i| is_module(i) && !i.contains("::"))
            {
                let (module, name) = alias(item);
                n.modules.entry(module).or_default().insert(name);
            }
        } else if let Some((module, items)) = statement.split_once("::") {
            let items = items
                .strip_prefix('{')
                .and_then(|s| s.strip_suffix('}'))
                .unwrap_or(items);
            for item in items.split(',').filter(|i| !i.is_empty()) {
                if item == "self" {
                    n.modules
                        .entry(module.to_string())
                        .or_default()
                        .insert(module.to_string());
                } else if let Some(a) = item.strip_prefix("self as ") {
                    n.modules
                        .entry(module.to_string())
                        .or_default()
                        .insert(a.to_string());
                } else if is_module(item) {
                    let (_, name) = alias(item);
                    n.functions
                        .entry(module.to_string())
                        .or_default()
                        .insert(name);
                }
            }
        } else {
            let (module, name) = alias(&statement);
            n.modules.entry(module).or_default().insert(name);
        }
    }
    n
}

/// Whether a page file calls `module::function`.
fn calls(source: &str, names: &Names, module: &str, function: &str) -> bool {
    let full = format!("crate::actions::{module}::{function}(");
    let by_alias = names.modules.get(module).is_some_and(|aliases| {
        aliases
            .iter()
            .any(|a| source.contains(&format!("{a}::{function}(")))
    });
    let imported = names
        .functions
        .get(module)
        .is_some_and(|f| f.contains(function) && source.contains(&format!("{function}(")));
    source.contains(&full) || by_alias || imported
}

#[test]
fn every_write_action_has_a_page() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pages: Vec<(String, String, Names)> = read_dir(&root.join("src/http/counter"))
        .into_iter()
        .map(|(file, source)| {
            let n = names(&source);
            (file, source, n)
        })
        .collect();
    let mut missing = Vec::new();
    let mut counted = 0;
    for (module, source) in read_dir(&root.join("src/actions")) {
        if module == "mod" || module == "run" {
            continue;
        }
        for action in write_actions(&source) {
            counted += 1;
            let machine = MACHINE_ONLY
                .iter()
                .any(|(m, a, _)| *m == module && *a == action);
            let paged = pages
                .iter()
                .any(|(_, src, n)| calls(src, n, &module, &action));
            if !machine && !paged {
                missing.push(format!("actions::{module}::{action}"));
            }
        }
    }
    assert!(counted > 40, "write actions found: {counted}");
    let stale: Vec<_> = MACHINE_ONLY
        .iter()
        .filter(|(m, a, _)| {
            let source = std::fs::read_to_string(root.join(format!("src/actions/{m}.rs")))
                .unwrap_or_default();
            !write_actions(&source).iter().any(|w| w == a)
        })
        .collect();
    assert!(stale.is_empty(), "not write actions (any more): {stale:?}");
    assert!(
        missing.is_empty(),
        "write actions no page calls (give each a page, or name it in MACHINE_ONLY with \
         the reason):\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_reader_of_names_sees_every_form_of_use() {
    let page = "use crate::actions::acquisition::{self as act, RankBy};\n\
                use crate::actions::{App, Keyed, counter, shifts};\n\
                use crate::actions::fleet as office;\n\
                use crate::actions::users::{self, reset_password};\n\
                fn x() { act::put_targets(); counter::sell(); office::approve_plan(); \
                reset_password(); }";
    let n = names(page);
    assert!(calls(page, &n, "acquisition", "put_targets"));
    assert!(calls(page, &n, "counter", "sell"));
    assert!(calls(page, &n, "fleet", "approve_plan"));
    assert!(calls(page, &n, "users", "reset_password"));
    assert!(!calls(page, &n, "shifts", "close"));
    assert_eq!(
        write_actions(
            "\npub async fn a() {\n    once(app)\n}\n\npub async fn b() {\n    read()\n}\n"
        ),
        ["a"]
    );
}

/// What shows a face reaching the database itself: the database crate, a
/// transaction or a pool, a connection, or SQL text.
fn database_access(line: &str) -> Option<&'static str> {
    const PLAIN: &[&str] = &["sqlx", "begin_write", ".begin()", "pool()"];
    const SQL: &[&str] = &["SELECT ", "INSERT ", "UPDATE ", "DELETE "];
    if let Some(found) = PLAIN.iter().find(|p| line.contains(*p)) {
        return Some(found);
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let conn = line.match_indices("Conn").any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + "Conn".len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    });
    if conn {
        return Some("Conn");
    }
    SQL.iter().copied().find(|k| {
        ["\"", "r\"", "r#\""]
            .iter()
            .any(|open| line.contains(&format!("{open}{k}")))
    })
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The files under `src/http`, named from the crate's root, with their
/// source.
fn faces() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src/http"), &mut files);
    files.sort();
    assert!(files.len() > 20, "files under src/http: {}", files.len());
    files
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(root)
                .expect("under the crate")
                .to_string_lossy()
                .replace('\\', "/");
            let source = std::fs::read_to_string(&path).expect("a source file");
            (name, source)
        })
        .collect()
}

/// The faces translate and the actions decide and write: nothing under
/// `src/http` holds SQL, a database connection or a transaction of its own.
#[test]
fn the_faces_hold_no_database_access() {
    let mut found = Vec::new();
    for (name, source) in faces() {
        found.extend(source.lines().enumerate().filter_map(|(n, line)| {
            database_access(line).map(|what| format!("{name}:{}: {what}: {}", n + 1, line.trim()))
        }));
    }
    assert!(
        found.is_empty(),
        "the faces reach the database themselves (move it into an action):\n{}",
        found.join("\n")
    );
}

/// The run helpers of `src/actions/run.rs` a line of a face calls itself:
/// by their path (`crate::actions::once(`, `run::create(` …), by the bare
/// name when the file imports it from `crate::actions`, or as the work
/// they take, the `|conn, at|` closure. A function of another room that
/// happens to share a name (`vehicles::create(`, `split_once(`) is not
/// one of them.
fn run_helper_calls(source: &str) -> Vec<(usize, String)> {
    let helpers: Vec<&str> = WRITES
        .iter()
        .filter_map(|w| w.strip_suffix('('))
        .filter(|w| *w != "begin_write")
        .collect();
    let n = names(source);
    let imported: Vec<&str> = helpers
        .iter()
        .copied()
        .filter(|h| {
            n.modules.contains_key(*h) || n.functions.get("run").is_some_and(|f| f.contains(*h))
        })
        .collect();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let bare = |line: &str, helper: &str| {
        line.match_indices(&format!("{helper}(")).any(|(at, _)| {
            !line[..at].chars().next_back().is_some_and(word)
                && !line[..at].trim_end().ends_with("fn")
        })
    };
    let mut found = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let by_path = helpers.iter().find(|h| {
            ["crate::actions::", "actions::", "run::"]
                .iter()
                .any(|p| code.contains(&format!("{p}{h}(")))
        });
        let by_name = imported.iter().find(|h| bare(code, h));
        let what = match (by_path, by_name) {
            (Some(h), _) | (None, Some(h)) => Some(h.to_string()),
            _ if code.contains("|conn, at|") => Some("|conn, at|".to_string()),
            _ => None,
        };
        if let Some(what) = what {
            found.push((n + 1, what));
        }
    }
    found
}

/// The faces hand an action typed values; the action opens the write
/// transaction: no file under `src/http` calls a run helper itself.
#[test]
fn the_faces_run_no_write_transaction() {
    let mut found = Vec::new();
    for (name, source) in faces() {
        found.extend(
            run_helper_calls(&source)
                .into_iter()
                .map(|(n, what)| format!("{name}:{n}: {what}")),
        );
    }
    assert!(
        found.is_empty(),
        "the faces run write transactions themselves (move them into an action):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_run_helper_reader_sees_each_form() {
    let face = "use crate::actions::{App, Done, idempotent, reads};\n\
                use crate::actions::run::once;\n\
                fn a() { idempotent(&state, &actor, &key, StatusCode::OK, work) }\n\
                fn b() { once(&state, &actor, work) }\n\
                fn c() { crate::actions::create(&state, &actor, None, work) }\n\
                fn d() { x(|conn, at| Box::pin(async move { Ok(()) })) }\n\
                fn e() { vehicles::create(conn, company, v, now); text.split_once(':'); }\n\
                fn create(x: i64) {}\n\
                // once(app) in a comment";
    let found: Vec<usize> = run_helper_calls(face).into_iter().map(|(n, _)| n).collect();
    assert_eq!(found, [3, 4, 5, 6]);
    // Without the import, a bare `create(` is some other room's function.
    assert!(run_helper_calls("fn f() { create(conn, &new) }").is_empty());
}

#[test]
fn the_database_reader_sees_each_form() {
    assert_eq!(
        database_access("let x = state.db.pool().acquire()"),
        Some("pool()")
    );
    assert_eq!(database_access("conn: &mut crate::db::Conn,"), Some("Conn"));
    assert_eq!(database_access("use axum::extract::ConnectInfo;"), None);
    assert_eq!(database_access(r#"  "SELECT 1""#), Some("SELECT "));
    assert_eq!(
        database_access("let tx = db.begin_write().await?;"),
        Some("begin_write")
    );
    assert_eq!(database_access("// the selected cards"), None);
}
