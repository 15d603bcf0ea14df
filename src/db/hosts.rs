//! Several PostgreSQL hosts behind one database URL, and a pool that
//! follows the one that accepts writes.
//!
//! PostgreSQL's own clients take a list of hosts —
//! `postgres://user@host1:5432,host2:5432/db?target_session_attrs=read-write`
//! — and keep the first that accepts writes. sqlx takes one host per pool,
//! so this module does it for the service: [`Hosts::parse`] splits the URL
//! into one URL per host; every new connection of the pool is asked
//! `pg_is_in_recovery()` and refused on a standby; and a [`Follower`]
//! watches the pool. When the pool's host stops answering (the primary
//! died), the follower asks the hosts in order for the first that accepts
//! writes now (the promoted standby), points the pool's new connections
//! there and has the connections opened before dropped as they come out of
//! the pool. Until a host accepts writes, a request waits out the pool's
//! acquire timeout and answers 503 `database_unavailable`; its client
//! retries with the same Idempotency-Key.
//!
//! Made for streaming replication with a synchronous standby promoted by an
//! operator, Patroni or a similar manager: the manager decides which host is
//! the primary and fences the old one; the service only finds it.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection as _};

/// How often the follower asks the pool whether its host still answers: a
/// `SELECT 1` on a connection the pool already has, four times a second.
const WATCH_EVERY: Duration = Duration::from_millis(250);
/// How long that question may take. A pool busy for longer under load is
/// taken for one without a host: the hosts are then asked directly and the
/// same host is found and kept, at the cost of a short connection to it
/// (and to each host listed before it).
const ANSWER_WITHIN: Duration = Duration::from_millis(500);
/// How long one host may take to connect and answer before the next is
/// asked: a host whose packets vanish would otherwise hold the search up.
const PROBE_WITHIN: Duration = Duration::from_secs(2);
/// PostgreSQL's port, for a host named without one.
const DEFAULT_PORT: u16 = 5432;

/// One host of the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Host {
    /// `host:port`, for the logs: never the user or the password.
    label: String,
    /// The URL that reaches this host alone, every other part kept.
    url: String,
}

/// The hosts of a PostgreSQL URL, in the order they are tried.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hosts {
    hosts: Vec<Host>,
    /// Keep only a host that accepts writes (`target_session_attrs=read-write`,
    /// the default with several hosts: the service writes); otherwise the
    /// first that answers (`any`).
    read_write: bool,
}

impl Hosts {
    /// Splits a URL in the multi-host form of PostgreSQL's clients. A URL
    /// with one host and no `target_session_attrs` is kept as it is (a Unix
    /// socket's URL, say). Errors never quote the URL: it may hold a
    /// password.
    fn parse(url: &str) -> anyhow::Result<Hosts> {
        let (scheme, rest) = url
            .split_once("://")
            .context("a PostgreSQL URL starts with postgres://")?;
        // The user and password end at the last `@` before the path.
        let path_at = rest.find('/').unwrap_or(rest.len());
        let (userinfo, rest) = match rest[..path_at].rfind('@') {
            Some(at) => rest.split_at(at + 1),
            None => ("", rest),
        };
        let (list, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
        let mut attrs = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("target_session_attrs", value)) => attrs = Some(value),
                _ => kept.push(pair),
            }
        }
        let query = if kept.is_empty() {
            String::new()
        } else {
            format!("?{}", kept.join("&"))
        };
        let several = list.contains(',');
        let read_write = match attrs {
            None => several,
            Some("read-write") => true,
            Some("any") => false,
            Some(_) => bail!(
                "the database URL's target_session_attrs must be read-write or any: the service writes"
            ),
        };
        if !several {
            let url = match attrs {
                None => url.to_string(),
                Some(_) => format!("{scheme}://{userinfo}{list}{path}{query}"),
            };
            return Ok(Hosts {
                hosts: vec![Host {
                    label: list.to_string(),
                    url,
                }],
                read_write,
            });
        }
        let hosts = list
            .split(',')
            .enumerate()
            .map(|(n, entry)| {
                let (host, port) = host_and_port(entry)
                    .with_context(|| format!("host {} of the database URL", n + 1))?;
                Ok(Host {
                    label: format!("{host}:{port}"),
                    url: format!("{scheme}://{userinfo}{host}:{port}{path}{query}"),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Hosts { hosts, read_write })
    }
}

/// `host`, `host:port`, `[ipv6]` or `[ipv6]:port`; the port defaults to
/// 5432. The host is kept as written (an IPv6 address in its brackets).
fn host_and_port(entry: &str) -> anyhow::Result<(&str, u16)> {
    let (host, port) = if entry.starts_with('[') {
        let close = entry
            .find(']')
            .context("an IPv6 address lacks its closing `]`")?;
        let (host, after) = entry.split_at(close + 1);
        if after.is_empty() {
            (host, None)
        } else {
            let port = after
                .strip_prefix(':')
                .context("only `:port` may follow an IPv6 address")?;
            (host, Some(port))
        }
    } else {
        match entry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (entry, None),
        }
    };
    if host.is_empty() || host == "[]" {
        bail!("the host is empty");
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .context("the port is not a number from 1 to 65535")?,
    };
    Ok((host, port))
}

/// Where the pool connects first, and what keeps it on the right host.
pub(super) struct Target {
    pub options: AnyConnectOptions,
    /// Refuse a new connection to a standby (see [`check_connection`]).
    pub read_write: bool,
    /// With several hosts, what moves the pool between them.
    pub follower: Option<Follower>,
}

impl Target {
    /// Parses a PostgreSQL URL and, when it names several hosts, finds the
    /// first to keep (an error when none is: the service does not start
    /// against a network without a primary).
    pub(super) async fn find(url: &str) -> anyhow::Result<Target> {
        let hosts = Hosts::parse(url)?;
        let targets = hosts
            .hosts
            .into_iter()
            .map(|h| {
                let options = h
                    .url
                    .parse::<AnyConnectOptions>()
                    .context("the database URL is not valid")?;
                Ok((h.label, options))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut follower = Follower {
            targets,
            read_write: hosts.read_write,
            current: 0,
            moved: Arc::default(),
        };
        if follower.targets.len() > 1 {
            let labels = follower.labels();
            let read_write = follower.read_write;
            follower.current = follower.first_to_keep().await.with_context(|| {
                if read_write {
                    format!("none of the database hosts {labels} accepts writes")
                } else {
                    format!("none of the database hosts {labels} answers")
                }
            })?;
        }
        Ok(Target {
            options: follower.options(),
            read_write: follower.read_write,
            follower: (follower.targets.len() > 1).then_some(follower),
        })
    }
}

/// What the pool's `after_connect` adds on PostgreSQL with `read_write`:
/// a connection to a standby is refused, so no request ever writes to one.
/// sqlx then tries again until its acquire timeout (503) — by when the
/// follower has usually moved the pool to the host that accepts writes.
pub(super) async fn check_connection(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    if accepts_writes(conn).await? {
        Ok(())
    } else {
        // A refusal, as from a host that is not up: that is what a standby
        // is to a service that writes.
        Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "the database host is a standby (in recovery): it does not accept writes",
        )))
    }
}

async fn accepts_writes(conn: &mut AnyConnection) -> Result<bool, sqlx::Error> {
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&mut *conn)
        .await?;
    Ok(!in_recovery)
}

/// Moves the pool to the host to keep when its host stops answering.
pub(super) struct Follower {
    /// Each host's label and connect options, in the URL's order.
    targets: Vec<(String, AnyConnectOptions)>,
    read_write: bool,
    /// The host the pool's new connections go to.
    current: usize,
    moved: Arc<Moved>,
}

impl Follower {
    fn options(&self) -> AnyConnectOptions {
        self.targets[self.current].1.clone()
    }

    fn labels(&self) -> String {
        let labels: Vec<&str> = self.targets.iter().map(|(l, _)| l.as_str()).collect();
        labels.join(", ")
    }

    /// Has the pool drop, as they come out of it, the connections opened
    /// before its last move: they reach a host that is no longer the one to
    /// write to (dead, or fenced by the manager).
    pub(super) fn drop_old_connections(&self, options: AnyPoolOptions) -> AnyPoolOptions {
        let moved = self.moved.clone();
        options.before_acquire(move |_conn, meta| {
            let keep = moved.opened_since(meta.age);
            Box::pin(async move { Ok(keep) })
        })
    }

    /// Watches `pool` until it closes: while it answers nothing is done;
    /// when it does not, the hosts are asked in order and the pool moves to
    /// the first to keep, if that is another host.
    pub(super) fn follow(mut self, pool: AnyPool) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(WATCH_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // Said once per outage, not every tick.
            let mut without_host = false;
            loop {
                tick.tick().await;
                if pool.is_closed() {
                    break;
                }
                if answers(&pool).await {
                    without_host = false;
                    continue;
                }
                match self.first_to_keep().await {
                    Some(next) if next != self.current => {
                        pool.set_connect_options(self.targets[next].1.clone());
                        self.moved.now();
                        tracing::warn!(
                            from = %self.targets[self.current].0,
                            to = %self.targets[next].0,
                            "the database moved to another host; new connections go there"
                        );
                        self.current = next;
                        without_host = false;
                    }
                    Some(_) => without_host = false,
                    None if !without_host => {
                        tracing::error!(
                            hosts = %self.labels(),
                            "no database host accepts writes; requests answer 503 until one does"
                        );
                        without_host = true;
                    }
                    None => {}
                }
            }
        });
    }

    /// The first host, in the URL's order, that answers (and, with
    /// `read_write`, accepts writes).
    async fn first_to_keep(&self) -> Option<usize> {
        for (n, (label, options)) in self.targets.iter().enumerate() {
            let probe = async {
                let mut conn = AnyConnection::connect_with(options).await?;
                let keep = !self.read_write || accepts_writes(&mut conn).await?;
                // The answer is in; a failed goodbye changes nothing.
                let _ = conn.close().await;
                Ok::<bool, sqlx::Error>(keep)
            };
            match tokio::time::timeout(PROBE_WITHIN, probe).await {
                Ok(Ok(true)) => return Some(n),
                Ok(Ok(false)) => tracing::debug!(host = %label, "a standby"),
                Ok(Err(e)) => tracing::debug!(host = %label, %e, "does not answer"),
                Err(_) => tracing::debug!(host = %label, "does not answer in time"),
            }
        }
        None
    }
}

/// Whether the pool runs a statement within [`ANSWER_WITHIN`].
async fn answers(pool: &AnyPool) -> bool {
    let ask = sqlx::query("SELECT 1").execute(pool);
    matches!(tokio::time::timeout(ANSWER_WITHIN, ask).await, Ok(Ok(_)))
}

/// When the pool last moved to another host, if it did.
#[derive(Default)]
struct Moved(RwLock<Option<Instant>>);

impl Moved {
    fn now(&self) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }

    /// Whether a connection of this age was opened after the last move.
    fn opened_since(&self, age: Duration) -> bool {
        match *self.0.read().unwrap_or_else(PoisonError::into_inner) {
            None => true,
            Some(at) => age <= at.elapsed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(url: &str) -> (Vec<String>, bool) {
        let hosts = Hosts::parse(url).expect("a valid URL");
        (
            hosts.hosts.into_iter().map(|h| h.url).collect(),
            hosts.read_write,
        )
    }

    #[test]
    fn several_hosts_become_one_url_each_writable_by_default() {
        assert_eq!(
            urls("postgres://fc:s3cret@db1:5433,db2/fuelcard?sslmode=prefer&application_name=till"),
            (
                vec![
                    "postgres://fc:s3cret@db1:5433/fuelcard?sslmode=prefer&application_name=till"
                        .to_string(),
                    "postgres://fc:s3cret@db2:5432/fuelcard?sslmode=prefer&application_name=till"
                        .to_string(),
                ],
                true
            )
        );
    }

    #[test]
    fn target_session_attrs_is_read_and_taken_out() {
        assert_eq!(
            urls("postgresql://u@a:1,b:2/db?target_session_attrs=any&connect_timeout=5"),
            (
                vec![
                    "postgresql://u@a:1/db?connect_timeout=5".to_string(),
                    "postgresql://u@b:2/db?connect_timeout=5".to_string(),
                ],
                false
            )
        );
        assert_eq!(
            urls("postgres://u@a,b/db?target_session_attrs=read-write"),
            (
                vec![
                    "postgres://u@a:5432/db".to_string(),
                    "postgres://u@b:5432/db".to_string(),
                ],
                true
            )
        );
    }

    #[test]
    fn ipv6_addresses_keep_their_brackets() {
        assert_eq!(
            urls("postgres://u@[::1]:5433,[fe80::2]/db"),
            (
                vec![
                    "postgres://u@[::1]:5433/db".to_string(),
                    "postgres://u@[fe80::2]:5432/db".to_string(),
                ],
                true
            )
        );
        let hosts = Hosts::parse("postgres://[::1],h:6000/db").expect("valid");
        let labels: Vec<_> = hosts.hosts.iter().map(|h| h.label.as_str()).collect();
        assert_eq!(labels, ["[::1]:5432", "h:6000"]);
    }

    #[test]
    fn one_host_is_kept_as_written_unless_it_asks_for_writes() {
        for url in [
            "postgres://postgres@127.0.0.1/test",
            "postgres:///fuelcard?host=/var/run/postgresql",
            "postgres://u:p@h:5433",
        ] {
            assert_eq!(urls(url), (vec![url.to_string()], false));
        }
        assert_eq!(
            urls("postgres://u@h/db?sslmode=disable&target_session_attrs=read-write"),
            (vec!["postgres://u@h/db?sslmode=disable".to_string()], true)
        );
    }

    #[test]
    fn without_a_path_the_query_still_follows_the_hosts() {
        assert_eq!(
            urls("postgres://u@a,b?target_session_attrs=any").0,
            ["postgres://u@a:5432", "postgres://u@b:5432"]
        );
    }

    #[test]
    fn a_password_with_an_at_sign_stays_whole() {
        assert_eq!(
            urls("postgres://u:p@ss@a,b/db").0,
            ["postgres://u:p@ss@a:5432/db", "postgres://u:p@ss@b:5432/db"]
        );
    }

    #[test]
    fn bad_lists_are_refused_without_quoting_the_url() {
        for url in [
            "postgres://u:secret@a,,b/db",
            "postgres://u:secret@a:x,b/db",
            "postgres://u:secret@a:0,b/db",
            "postgres://u:secret@a:70000,b/db",
            "postgres://u:secret@[::1,b/db",
            "postgres://u:secret@[::1]x,b/db",
            "postgres://u:secret@a,b/db?target_session_attrs=standby",
            "u:secret@a,b/db",
        ] {
            let e = format!("{:#}", Hosts::parse(url).expect_err(url));
            assert!(!e.contains("secret"), "{e}");
        }
        let e = format!(
            "{:#}",
            Hosts::parse("postgres://a,b:x/db").expect_err("a bad port")
        );
        assert!(e.contains("host 2"), "{e}");
    }

    #[test]
    fn connections_opened_before_a_move_are_dropped() {
        let moved = Moved::default();
        assert!(moved.opened_since(Duration::from_secs(3600)));
        moved.now();
        std::thread::sleep(Duration::from_millis(20));
        assert!(moved.opened_since(Duration::from_millis(1)));
        assert!(!moved.opened_since(Duration::from_secs(1)));
    }
}
