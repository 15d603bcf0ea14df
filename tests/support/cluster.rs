//! PostgreSQL servers of a test's own, each in a temporary directory, run
//! as the `postgres` user (PostgreSQL refuses root) on a free port, so a
//! test can crash, kill, restart and promote them without disturbing the
//! shared server. They are stopped and their directories removed when the
//! value is dropped, whether the test passed or not.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

pub struct Cluster {
    /// Holds the data directory (`data`), the server's log and its socket.
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    /// Server settings beyond the port and the address (`-c name=value …`).
    settings: String,
}

impl Cluster {
    /// A server of its own, started (`what` names the test in the skip
    /// message). `None` (said loudly) where no PostgreSQL server binaries or
    /// no root are at hand; under `CI=true` that is a failure.
    pub fn create(what: &str) -> Option<Cluster> {
        let cluster = Cluster::initdb(what, String::new())?;
        cluster.start();
        Some(cluster)
    }

    /// A primary whose commits wait for the standby named `standby` to have
    /// the commit (`synchronous_commit = on`); started. A commit blocks until
    /// that standby is attached (see [`Cluster::standby`]).
    pub fn primary(what: &str, standby: &str) -> Option<Cluster> {
        let settings = format!(
            "-c wal_level=replica -c max_wal_senders=4 -c synchronous_commit=on \
             -c synchronous_standby_names={standby}"
        );
        let cluster = Cluster::initdb(what, settings)?;
        cluster.start();
        Some(cluster)
    }

    /// A streaming standby of this server, copied with `pg_basebackup -R`
    /// and announcing itself as `name` (the primary's
    /// `synchronous_standby_names`); started. The settings given to the
    /// primary on its command line are not copied: promoted, it waits for no
    /// standby of its own.
    pub fn standby(&self, name: &str) -> Cluster {
        let standby = Cluster::empty(self.bin.clone(), String::new());
        let port = self.port.to_string();
        standby.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-R",
                "-X",
                "stream",
                "--no-sync",
                "-D",
            ],
        );
        // Appended after what `-R` wrote, so it is the setting that counts.
        let conninfo = format!(
            "\nprimary_conninfo = 'host=127.0.0.1 port={} user=postgres application_name={name}'\n",
            self.port
        );
        let auto = standby.data().join("postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&auto).expect("the standby's postgresql.auto.conf");
        text.push_str(&conninfo);
        std::fs::write(&auto, text).expect("write the standby's primary_conninfo");
        standby.start();
        standby
    }

    /// Waits (up to 30 s) until the standby `name` streams synchronously
    /// from this server.
    pub async fn wait_for_sync_standby(&self, name: &str) {
        let db = fuelcard::db::Db::connect(&self.url(), 1)
            .await
            .expect("connect to the primary");
        let query = format!(
            "SELECT COUNT(*) FROM pg_stat_replication \
             WHERE application_name = '{name}' AND sync_state = 'sync' AND state = 'streaming'"
        );
        let attached = async {
            loop {
                let n: i64 = sqlx::query_scalar(&query)
                    .fetch_one(db.pool())
                    .await
                    .expect("read pg_stat_replication");
                if n == 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), attached)
            .await
            .expect("the standby streams synchronously within 30 s");
        db.close().await;
    }

    /// The binaries, a data directory made with `initdb` and a free port.
    fn initdb(what: &str, settings: String) -> Option<Cluster> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|d| d.filter_map(Result::ok).map(|e| e.path().join("bin")).max())
            .filter(|b| b.join("initdb").exists());
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let Some(bin) = bin.filter(|_| root) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true: the {what} needs PostgreSQL's server binaries and root"
            );
            crate::support::skipped(&format!(
                "{what} — needs /usr/lib/postgresql/*/bin and root"
            ));
            return None;
        };
        let cluster = Cluster::empty(bin, settings);
        cluster.run(
            "initdb",
            &["-A", "trust", "-U", "postgres", "--no-sync", "-D"],
        );
        Some(cluster)
    }

    /// A directory the `postgres` user owns for the data directory, and a free port
    /// (never 5432: the kernel hands out ports from its ephemeral range).
    fn empty(bin: PathBuf, settings: String) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("fuelcard-pg-")
            .tempdir()
            .expect("dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = Cluster {
            dir,
            bin,
            port,
            settings,
        };
        run(Command::new("chown")
            .args(["-R", "postgres"])
            .arg(cluster.dir.path()));
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of PostgreSQL's tools as the `postgres` user, the data
    /// directory last.
    fn run(&self, tool: &str, args: &[&str]) {
        run(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(tool))
            .args(args)
            .arg(self.data()));
    }

    /// Starts the server and waits until it takes connections. `fsync` is
    /// off: the tests kill processes, never the machine, so what reached
    /// the operating system stays, and the tests run faster.
    pub fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off {}",
            self.port,
            self.dir.path().display(),
            self.settings
        );
        let log = self.dir.path().join("log").display().to_string();
        let started = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-w", "-l", &log, "-o", &opts, "start", "-D"])
            .arg(self.data())
            .status()
            .expect("run pg_ctl");
        assert!(
            started.success(),
            "PostgreSQL did not start:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server the way a crash would: no checkpoint, connections cut.
    pub fn crash(&self) {
        self.run("pg_ctl", &["-m", "immediate", "stop", "-D"]);
    }

    /// `kill -9` on the postmaster, as when its machine dies: its backends
    /// see it gone and exit, and nothing answers on its port any more.
    pub fn kill_postmaster(&self) {
        let pid = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .expect("postmaster.pid")
            .lines()
            .next()
            .expect("the postmaster's pid")
            .trim()
            .to_string();
        run(Command::new("kill").args(["-9", &pid]));
    }

    /// Promotes a standby to primary and waits until it takes writes.
    pub fn promote(&self) {
        self.run("pg_ctl", &["-w", "promote", "-D"]);
    }

    /// The `postgres` database on this server.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    /// Stops the server, then the directory goes. A killed postmaster left
    /// its `postmaster.pid` and its small System V shared memory segment
    /// (named on the file's seventh line) behind: the segment is removed
    /// too, or every run would leave one.
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-m", "immediate", "stop", "-D"])
            .arg(self.data())
            .output();
        let segment = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .ok()
            .and_then(|pid| Some(pid.lines().nth(6)?.split_whitespace().nth(1)?.to_string()));
        if let Some(id) = segment {
            let _ = Command::new("ipcrm").args(["-m", &id]).output();
        }
    }
}

/// Runs a command to its end; a failure fails the test with its stderr.
fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run a PostgreSQL command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
