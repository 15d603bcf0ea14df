//! The README's tour of the API, run as pasted against a fresh demo
//! server (`fuelcard serve --demo`), and the numbers the README states
//! after it checked against what the tour printed.

use crate::support::{Backend, FreshDb};

/// The first `sh` block after `heading` in the README.
fn block_after(readme: &str, heading: &str) -> String {
    let from = readme.find(heading).expect("the README's heading");
    let rest = &readme[from..];
    let start = rest.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let end = rest[start..].find("```").expect("the block's end");
    rest[start..start + end].to_string()
}

/// Whether a command is on the PATH.
fn have(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_tour_runs_as_pasted() {
    if !have("curl") || !have("jq") {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true but curl or jq is missing: the test command installs them");
        }
        crate::support::skipped("README tour — install curl and jq");
        return;
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("the README");
    let tour = block_after(&readme, "## What a cashier does");
    let fresh = FreshDb::create(Backend::Sqlite).await.expect("sqlite");
    let dir = tempfile::tempdir().expect("a dir");
    let clock = crate::support::settings().clock;
    let (server, base) =
        crate::support::spawn_demo_server(&fresh.url, &dir.path().join("k"), &clock).await;
    let host = base.trim_start_matches("http://");
    let script = tour.replace("localhost:8080", host);
    let out = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .output()
        .await
        .expect("bash runs the tour");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the tour failed: {}\n{printed}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = printed.lines().collect();
    // The preview, the recharge's balance, the sale's four figures, then
    // the card's transactions, newest first.
    assert!(lines[0].contains("\"bonus\":\"20.00\""), "{printed}");
    assert_eq!(lines[1], "1020.00", "{printed}");
    assert_eq!(lines[2], "230.40 6.00 224.40 795.60", "{printed}");
    assert_eq!(lines[3], "[\"sale\",\"-224.40\",\"795.60\"]", "{printed}");
    assert_eq!(
        lines[4], "[\"recharge\",\"1020.00\",\"1020.00\"]",
        "{printed}"
    );
    // And the README says what the tour prints.
    for stated in ["`1020.00`", "`230.40 6.00 224.40 795.60`"] {
        assert!(readme.contains(stated), "the README states {stated}");
    }
    drop(server);
    fresh.drop_database().await;
}
