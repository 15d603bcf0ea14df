//! Configuration and secrets.
//!
//! Secrets (the PIN verifier key) come from the key file or the environment,
//! never from the database, so a copy of the database reveals no PIN. A
//! missing key file is created with a fresh random key on first start, with
//! owner-only permissions, and the operator is told to back it up: losing it
//! means every card PIN must be reset.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono_tz::Tz;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::cards::pin::PinKey;

/// Environment variable that may hold the PIN key (hex, ≥ 32 hex digits);
/// it takes precedence over the key file.
pub const PIN_KEY_ENV: &str = "FUELCARD_PIN_KEY";

/// Service settings fixed at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    pub time_zone: Tz,
    /// Hours between a loss report and the replacement card receiving the
    /// balance (0: at once).
    pub replacement_wait_hours: i64,
    /// Minutes a fuelling hold lives before it releases itself.
    pub hold_minutes: i64,
    /// The one clock every "now" of the service reads.
    pub clock: crate::time::Clock,
    /// When set, `/metrics` answers only a request bearing this token: the
    /// counts and latencies of a network's stations are not for anyone
    /// who can reach the port.
    pub metrics_token: Option<String>,
    /// Days an answered Idempotency-Key replays its answer; older keys
    /// are purged, and a retry after that is a new request.
    pub replay_days: i64,
    /// Days after opening within which a new card customer must refuel to
    /// count towards the acquisition targets.
    pub activation_days: i64,
    /// Hours within which a merchant may reverse a redemption (a voucher
    /// taken by mistake); never once the month is settled.
    pub reversal_hours: i64,
    /// The largest purchase a merchant may declare for one redemption of a
    /// discount: the merchant's word is all there is for it.
    pub max_redemption_purchase: crate::money::Money,
    /// How long a login lasts: hours at most, minutes unused.
    pub sessions: crate::auth::sessions::Lifetime,
    /// The service answers over HTTPS (`serve --tls-cert/--tls-key`): the
    /// session cookie is then marked `Secure`, so a browser never sends it
    /// over plain HTTP, and every answer carries Strict-Transport-Security.
    pub tls: bool,
    /// The time limits of a complaint's stages.
    pub complaints: crate::crm::complaints::Limits,
    /// The customer levels' thresholds and the lifecycle's days.
    pub grading: crate::crm::grading::Rules,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            time_zone: chrono_tz::Asia::Shanghai,
            replacement_wait_hours: 0,
            hold_minutes: 30,
            clock: crate::time::Clock::system(),
            metrics_token: None,
            replay_days: 7,
            activation_days: 30,
            reversal_hours: 24,
            max_redemption_purchase: crate::money::Money::from_fen(1_000_000),
            sessions: Default::default(),
            tls: false,
            complaints: Default::default(),
            grading: Default::default(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    /// HMAC key for PIN verifiers, hex.
    pin_key: String,
}

/// The secrets the service holds in memory.
#[derive(Clone, Debug)]
pub struct Keys {
    pub pin: PinKey,
}

fn parse_hex_key(text: &str) -> anyhow::Result<PinKey> {
    let bytes = hex::decode(text.trim()).context("the PIN key is not hex")?;
    PinKey::new(bytes).context("the PIN key must be at least 16 bytes (32 hex digits)")
}

/// Loads the keys from the environment or the key file, creating the file
/// with a new random key when it does not exist and `may_create` says the
/// database has no records made under an earlier key.
pub fn load_keys(path: &Path, may_create: bool) -> anyhow::Result<Keys> {
    if let Ok(hex_key) = std::env::var(PIN_KEY_ENV) {
        return Ok(Keys {
            pin: parse_hex_key(&hex_key).with_context(|| format!("in {PIN_KEY_ENV}"))?,
        });
    }
    if !path.exists() && !may_create {
        anyhow::bail!(
            "the key file {} is missing, and this database's card PINs were set up under a key: \
             restore the key file from your backup (or set {PIN_KEY_ENV}); a new key would make \
             every PIN wrong",
            path.display()
        );
    }
    if !path.exists() {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let text = toml::to_string(&KeyFile {
            pin_key: hex::encode(key),
        })?;
        write_private(
            path,
            &format!("# fuelcard secrets: back this file up, never commit it.\n{text}"),
        )
        .with_context(|| format!("creating the key file {}", path.display()))?;
        tracing::warn!(path = %path.display(), "created a new key file; back it up");
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the key file {}", path.display()))?;
    let file: KeyFile = toml::from_str(&text)
        .with_context(|| format!("parsing the key file {}", path.display()))?;
    Ok(Keys {
        pin: parse_hex_key(&file.pin_key)
            .with_context(|| format!("in the key file {}", path.display()))?,
    })
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// The default key file sits beside a SQLite database, or in the current
/// directory for PostgreSQL.
pub fn default_key_file(db_url: &str) -> PathBuf {
    let path = db_url
        .strip_prefix("sqlite://")
        .or_else(|| db_url.strip_prefix("sqlite:"))
        .unwrap_or(db_url);
    if db_url.starts_with("postgres") {
        return PathBuf::from("fuelcard-keys.toml");
    }
    let path = path.split('?').next().unwrap_or(path);
    Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(
            || PathBuf::from("fuelcard-keys.toml"),
            |p| p.join("fuelcard-keys.toml"),
        )
}
