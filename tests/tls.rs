//! HTTPS: `fuelcard serve --tls-cert --tls-key` as its own process, with a
//! self-signed certificate made here for 127.0.0.1. The API and the pages
//! answer over TLS, the session cookie is `Secure`, every answer carries
//! Strict-Transport-Security, plain HTTP to the port gets nothing, and a
//! wrong certificate or key stops the start with a message naming the file.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use reqwest::StatusCode;
use reqwest::header::{SET_COOKIE, STRICT_TRANSPORT_SECURITY};
use serde_json::Value;
use tokio::io::AsyncWriteExt as _;

use crate::support::{Backend, FreshDb};

const ADMIN_PASSWORD: &str = "tls-admin-password";

/// A certificate for `localhost` and 127.0.0.1 and its key, both PEM.
fn self_signed() -> (String, String) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("a self-signed certificate");
    (made.cert.pem(), made.signing_key.serialize_pem())
}

/// A certificate and key written to files in `dir`.
fn write_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf, String) {
    let (cert, key) = self_signed();
    let cert_path = dir.join(format!("{name}-cert.pem"));
    let key_path = dir.join(format!("{name}-key.pem"));
    std::fs::write(&cert_path, &cert).expect("write the certificate");
    std::fs::write(&key_path, &key).expect("write the key");
    (cert_path, key_path, cert)
}

/// `fuelcard serve` on `db` with the given extra arguments, not yet started.
fn serve_command(db: &str, dir: &Path, extra: &[&std::ffi::OsStr]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_fuelcard"));
    cmd.args(["serve", "--db", db, "--listen", "127.0.0.1:0", "--key-file"])
        .arg(dir.join("pin-key.toml"))
        .arg("--clock")
        .arg(crate::support::clock_arg(&crate::support::settings().clock))
        .args(extra)
        .env("FUELCARD_PIN_KEY", crate::support::hex_key())
        .kill_on_drop(true);
    cmd
}

/// The admin, added as an operator would: `fuelcard user add` with the
/// password on standard input.
async fn add_admin(db: &str) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fuelcard"))
        .args([
            "user",
            "add",
            "--db",
            db,
            "--username",
            "admin",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("run fuelcard user add");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(format!("{ADMIN_PASSWORD}\n").as_bytes())
        .await
        .expect("write the password");
    drop(stdin);
    assert!(child.wait().await.expect("user add").success(), "user add");
}

/// A running HTTPS server, the client that trusts its certificate and the
/// files it needs (kept until the test ends).
struct TlsServer {
    base: String,
    client: reqwest::Client,
    /// The certificate (PEM) the server presents.
    cert: String,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
    _db: FreshDb,
}

impl TlsServer {
    async fn start() -> TlsServer {
        let db = FreshDb::create(Backend::Sqlite).await.expect("sqlite");
        let dir = tempfile::tempdir().expect("a temp dir");
        let (cert_path, key_path, cert) = write_pair(dir.path(), "server");
        add_admin(&db.url).await;
        let mut child = serve_command(
            &db.url,
            dir.path(),
            &["--tls-cert".as_ref(), cert_path.as_os_str()],
        )
        .arg("--tls-key")
        .arg(&key_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start fuelcard serve");
        let base = crate::support::announced_address(&mut child).await;
        assert!(base.starts_with("https://127.0.0.1:"), "announced {base}");
        TlsServer {
            client: trusting(&cert),
            base,
            cert,
            _child: child,
            _dir: dir,
            _db: db,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A client that trusts `cert` and no built-in roots, and does not follow
/// redirects (the page login's cookie is on the redirect itself).
fn trusting(cert: &str) -> reqwest::Client {
    trusting_builder(cert).build().expect("client")
}

fn trusting_builder(cert: &str) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert.as_bytes()).expect("PEM"))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
}

fn hsts(resp: &reqwest::Response) -> Option<&str> {
    resp.headers()
        .get(STRICT_TRANSPORT_SECURITY)
        .and_then(|v| v.to_str().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_over_https() {
    let server = TlsServer::start().await;
    let login = server
        .client
        .post(server.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login over HTTPS");
    assert_eq!(login.status(), StatusCode::OK);
    assert_eq!(hsts(&login), Some(fuelcard::http::HSTS));
    let token = login.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("a token")
        .to_string();
    let me = server
        .client
        .get(server.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me over HTTPS");
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(hsts(&me), Some(fuelcard::http::HSTS));
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["username"], "admin");
    assert_eq!(me["role"], "admin");

    // Refusals carry it too: every answer over TLS does.
    let missing = server
        .client
        .get(server.url("/no/such/route"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(hsts(&missing), Some(fuelcard::http::HSTS));

    // A client that does not trust the certificate gets no answer: it is
    // real TLS, checked against the certificate made here.
    let stranger = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .build()
        .expect("client");
    assert!(
        stranger.get(server.url("/healthz")).send().await.is_err(),
        "a client without the certificate must not connect"
    );

    // Plain HTTP to the TLS port: no answer at all, never a silent
    // downgrade to an unencrypted exchange.
    let plain = server.base.replacen("https://", "http://", 1);
    let answer = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .expect("client")
        .get(format!("{plain}/healthz"))
        .send()
        .await;
    assert!(
        answer.is_err(),
        "plain HTTP to the TLS port was answered: {answer:?}"
    );
    // The server is still there for the next one.
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz after a plain-HTTP attempt");
    assert_eq!(health.status(), StatusCode::OK);
}

/// The page login's session cookie, over TLS: `Secure` (never sent back
/// over plain HTTP), `HttpOnly` and `SameSite=Strict`; logging out clears
/// it with the same attributes. The forms are posted as a browser posts
/// them, with the page's form token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_cookie_is_secure() {
    let server = TlsServer::start().await;
    let browser = trusting_builder(&server.cert)
        .cookie_store(true)
        .build()
        .expect("client");
    let resp = crate::pages::post_form(
        &browser,
        server.url("/login"),
        &[("username", "admin"), ("password", ADMIN_PASSWORD)],
    )
    .await
    .expect("page login over HTTPS");
    assert!(
        resp.status().is_redirection(),
        "the page login redirects: {}",
        resp.status()
    );
    assert_eq!(hsts(&resp), Some(fuelcard::http::HSTS));
    let cookie = session_cookie_of(&resp).expect("the login sets the session cookie");
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    for wanted in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(attributes.contains(&wanted), "{wanted} missing: {cookie}");
    }
    assert!(attributes[0].len() > "fuelcard_session=".len(), "{cookie}");

    // The browser sends it back over HTTPS: the pages know who is asking
    // (the counter, which a login-less browser is sent away from).
    let home = browser
        .get(server.url("/counter"))
        .send()
        .await
        .expect("the home page");
    assert_eq!(home.status(), StatusCode::OK);

    let out = crate::pages::post_form(&browser, server.url("/logout"), &[] as &[(&str, &str)])
        .await
        .expect("logout");
    assert!(out.status().is_redirection(), "logout: {}", out.status());
    let cleared = session_cookie_of(&out).expect("the logout clears the cookie");
    let attributes: Vec<&str> = cleared.split(';').map(str::trim).collect();
    for wanted in ["fuelcard_session=", "Max-Age=0", "Secure", "HttpOnly"] {
        assert!(attributes.contains(&wanted), "{wanted} missing: {cleared}");
    }
}

/// The `Set-Cookie` of the page session in an answer, if it sets one.
fn session_cookie_of(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("fuelcard_session="))
        .map(str::to_string)
}

/// The cookie strings themselves: exactly the plain-HTTP ones, plus
/// `Secure` over TLS.
#[test]
fn cookie_strings() {
    use fuelcard::http::extract::{cleared_session_cookie, session_cookie};
    let mut settings = crate::support::settings();
    settings.sessions.hours = 12;
    assert_eq!(
        session_cookie(&settings, "abc"),
        "fuelcard_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200"
    );
    assert_eq!(
        cleared_session_cookie(&settings),
        "fuelcard_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
    );
    settings.tls = true;
    assert_eq!(
        session_cookie(&settings, "abc"),
        "fuelcard_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure"
    );
    assert_eq!(
        cleared_session_cookie(&settings),
        "fuelcard_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure"
    );
}

/// Over plain HTTP no Strict-Transport-Security is sent (a browser would
/// ignore it, and it would promise HTTPS that is not there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_sends_no_hsts() {
    let env = crate::support::TestEnv::start(Backend::Sqlite)
        .await
        .expect("sqlite");
    let resp = env
        .client
        .get(format!("{}/healthz", env.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(hsts(&resp).is_none());
    env.finish().await;
}

/// `serve` with a certificate or key it cannot use exits non-zero at once,
/// saying which file and what is wrong with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tls_files_stop_the_start() {
    let db = FreshDb::create(Backend::Sqlite).await.expect("sqlite");
    let dir = tempfile::tempdir().expect("a temp dir");
    let (cert, key, _) = write_pair(dir.path(), "good");
    let (_, other_key, _) = write_pair(dir.path(), "other");
    let missing = dir.path().join("missing-cert.pem");
    let not_pem = dir.path().join("not-pem.pem");
    std::fs::write(&not_pem, "this is not a certificate\n").expect("write");
    let cases: [(&Path, &Path, &[&str]); 5] = [
        (
            &missing,
            &key,
            &["--tls-cert", "missing-cert.pem", "cannot read"],
        ),
        (
            &not_pem,
            &key,
            &["--tls-cert", "not-pem.pem", "no certificate"],
        ),
        // The key given as the certificate: PEM, but no certificate in it.
        (
            &key,
            &key,
            &["--tls-cert", "good-key.pem", "no certificate"],
        ),
        (
            &cert,
            &cert,
            &["--tls-key", "good-cert.pem", "no private key"],
        ),
        (
            &cert,
            &other_key,
            &["other-key.pem", "does not match", "good-cert.pem"],
        ),
    ];
    for (cert, key, said) in cases {
        let out = serve_command(
            &db.url,
            dir.path(),
            &[
                "--tls-cert".as_ref(),
                cert.as_os_str(),
                "--tls-key".as_ref(),
                key.as_os_str(),
            ],
        )
        .output();
        let out = tokio::time::timeout(std::time::Duration::from_secs(60), out)
            .await
            .expect("the server gives up instead of serving")
            .expect("run fuelcard serve");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cert:?} {key:?} started: {stderr}");
        for word in said {
            assert!(stderr.contains(word), "{word:?} not in: {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    }

    // One without the other is refused before anything starts.
    let out = serve_command(
        &db.url,
        dir.path(),
        &["--tls-cert".as_ref(), cert.as_os_str()],
    )
    .output()
    .await
    .expect("run fuelcard serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--tls-key"), "{stderr}");
}
