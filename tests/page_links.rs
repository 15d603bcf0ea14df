//! Every role finds its work by following links. Logged in through the
//! form as each demo user, a reader starts at the home page and follows
//! every link the pages offer, as a new user clicking around would: no
//! page answers 5xx, no link leads to a page that is not there (404) or
//! that the role may not open (403) — a page offers only what its reader
//! may do — and no Chinese page shows a raw `snake_case` code or English
//! words. Downloads (CSV) must answer 200.

use std::collections::{HashMap, HashSet, VecDeque};

use reqwest::StatusCode;

use crate::languages::{Lang, problems, unescape};
use crate::pages::post_form;
use crate::support::{Backend, Demo};

/// Every demo login, one per role (and both merchants).
const USERS: &[&str] = &[
    "cashier1",
    "manager1",
    "district-east",
    "hq-office",
    "admin",
    "fleet-a",
    "insurer",
    "carwash",
];

/// The most pages read per user, and per shape of path (ids and numbers
/// taken as one), so that a list of a thousand cards is sampled.
const MOST_PAGES: usize = 160;
const MOST_PER_SHAPE: usize = 3;

/// Links that change the session rather than show a page.
fn followed(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/logout")
        && !path.starts_with("/lang/")
        && !path.starts_with("/api/")
}

fn is_download(path: &str) -> bool {
    let bare = path.split('?').next().unwrap_or(path);
    bare.ends_with(".csv") || bare.ends_with("/csv")
}

/// A path with its numbers and codes folded: `/cards/9100…/x?month=…` →
/// `/cards/#/x?month`.
fn shape(path: &str) -> String {
    let (bare, query) = path.split_once('?').unwrap_or((path, ""));
    let mut out: Vec<String> = bare
        .split('/')
        .map(|seg| {
            if seg.chars().any(|c| c.is_ascii_digit()) {
                "#".to_string()
            } else {
                seg.to_string()
            }
        })
        .collect();
    if !query.is_empty() {
        let keys: Vec<&str> = query
            .split('&')
            .map(|kv| kv.split('=').next().unwrap_or(""))
            .collect();
        let last = out.len() - 1;
        out[last] = format!("{}?{}", out[last], keys.join("&"));
    }
    out.join("/")
}

/// The site's own links on a page.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| unescape(href).split('#').next().unwrap_or("").to_string())
        .filter(|href| followed(href))
        .collect()
}

/// What is wrong on the pages a user reaches from their home.
async fn walk(demo: &Demo, username: &str) -> Vec<String> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .expect("client");
    let password = format!("{username}-demo");
    let r = post_form(
        &client,
        format!("{}/login", demo.base),
        &[("username", username), ("password", password.as_str())],
    )
    .await
    .expect("the login answers");
    assert!(
        !r.url().path().ends_with("/login"),
        "{username} logs in through the form"
    );
    let mut found = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut shapes: HashMap<String, usize> = HashMap::new();
    let mut queue: VecDeque<(String, String)> = VecDeque::from([("/".into(), "login".into())]);
    // The counter reaches a card by searching for it: start on two of them
    // as well, a person's and a company's.
    if username.starts_with("cashier") {
        for kind in ["personal", "company_main"] {
            let number: String =
                sqlx::query_scalar("SELECT number FROM cards WHERE kind = $1 ORDER BY id LIMIT 1")
                    .bind(kind)
                    .fetch_one(demo.db.pool())
                    .await
                    .expect("a demo card");
            queue.push_back((format!("/cards/{number}"), "the search".into()));
        }
    }
    let mut read = 0;
    while let Some((path, from)) = queue.pop_front() {
        if read >= MOST_PAGES || !seen.insert(path.clone()) {
            continue;
        }
        let n = shapes.entry(shape(&path)).or_default();
        if *n >= MOST_PER_SHAPE {
            continue;
        }
        *n += 1;
        read += 1;
        let r = client
            .get(format!("{}{path}", demo.base))
            .send()
            .await
            .expect("the page answers");
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        if status.is_server_error()
            || status == StatusCode::NOT_FOUND
            || status == StatusCode::FORBIDDEN
        {
            found.push(format!(
                "{username}: {path} (linked from {from}) answers {status}"
            ));
            continue;
        }
        if is_download(&path) {
            if status != StatusCode::OK {
                found.push(format!("{username}: download {path} answers {status}"));
            }
            continue;
        }
        if !status.is_success() {
            continue;
        }
        for p in problems(&body, Lang::Zh) {
            found.push(format!("{username}: {path}: {p}"));
        }
        for link in links(&body) {
            if !seen.contains(&link) {
                queue.push_back((link, path.clone()));
            }
        }
    }
    eprintln!("{username}: {read} pages read by following links");
    if read <= 1 {
        found.push(format!(
            "{username}: no link leads anywhere from the home page"
        ));
    }
    found
}

async fn every_link(backend: Backend) {
    let Some(demo) = Demo::start(backend).await else {
        return;
    };
    let mut found = Vec::new();
    for user in USERS {
        found.append(&mut walk(&demo, user).await);
    }
    assert!(
        found.is_empty(),
        "{} problems on the pages reached by following links:\n{}",
        found.len(),
        found.join("\n")
    );
    demo.finish().await;
}

crate::with_each_backend!(every_link_leads_somewhere, every_link);

#[test]
fn paths_fold_into_shapes() {
    assert_eq!(shape("/cards/9100000000000001"), "/cards/#");
    assert_eq!(
        shape("/acquisition?month=2026-11&station=S001"),
        "/acquisition?month&station"
    );
    assert_eq!(
        shape("/fleet/3/review?month=2026-10"),
        "/fleet/#/review?month"
    );
    assert!(!followed("/logout") && !followed("/lang/en") && !followed("https://x"));
    assert!(is_download("/acquisition/tracking.csv?month=2026-11"));
}
