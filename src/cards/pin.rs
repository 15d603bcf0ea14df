//! Card PINs, kept only as keyed verifiers.
//!
//! A six-digit PIN under a plain or salted hash falls to brute force in
//! seconds (there are only a million of them). The verifier is an
//! HMAC-SHA-256 under a secret that lives in the key file or environment,
//! never in the database, so a stolen database reveals no PIN.

use hmac::{Hmac, Mac};
use sqlx::Row;

use crate::db::Conn;
use crate::error::AppResult;
use rand::RngCore;
use sha2::Sha256;

/// Wrong tries before the card locks.
pub const MAX_TRIES: i64 = 3;

/// The secret the PIN verifiers are keyed with. Redacted in `Debug`.
#[derive(Clone)]
pub struct PinKey(Vec<u8>);

impl std::fmt::Debug for PinKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinKey(<redacted>)")
    }
}

impl PinKey {
    pub fn new(secret: Vec<u8>) -> Option<PinKey> {
        (secret.len() >= 16).then_some(PinKey(secret))
    }

    /// An HMAC under this key, for one purpose.
    fn keyed(&self, purpose: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length");
        mac.update(purpose);
        mac
    }

    fn mac(&self, salt: &str, pin: &str) -> Hmac<Sha256> {
        let mut mac = self.keyed(b"fuelcard-pin-v1\0");
        mac.update(salt.as_bytes());
        mac.update(b"\0");
        mac.update(pin.as_bytes());
        mac
    }

    /// The verifier of `pin` under a per-card salt.
    pub fn verifier(&self, salt: &str, pin: &str) -> String {
        hex::encode(self.mac(salt, pin).finalize().into_bytes())
    }

    /// The fingerprint of a request kept with its idempotency key, to tell
    /// a retry from another request under the same key. Keyed, because a
    /// request's body may carry a PIN, which a stored plain hash of a
    /// predictable body would give away to a brute force of a million tries.
    pub fn fingerprint(&self, parts: &[&[u8]]) -> String {
        let mut mac = self.keyed(b"fuelcard-request-v1\0");
        for part in parts {
            mac.update(part);
            mac.update(b"\0");
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// A value that tells whether two keys are the same without revealing
    /// either: kept in the database, so that a server started with another
    /// key refuses to start instead of refusing every PIN.
    pub fn check_value(&self) -> String {
        hex::encode(
            self.keyed(b"fuelcard-key-check-v1\0")
                .finalize()
                .into_bytes(),
        )
    }

    /// Compares in constant time.
    pub fn matches(&self, salt: &str, pin: &str, verifier: &str) -> bool {
        let Ok(expected) = hex::decode(verifier) else {
            return false;
        };
        self.mac(salt, pin).verify_slice(&expected).is_ok()
    }
}

/// The check value of the PIN key this database's verifiers are made
/// under, if one was recorded.
pub async fn recorded_check(conn: &mut Conn) -> AppResult<Option<String>> {
    let row = sqlx::query("SELECT check_value FROM key_checks WHERE name = 'pin'")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("check_value")).transpose()?)
}

/// Whether any card holds a PIN verifier: a key for such a database can no
/// longer be made up anew.
pub async fn verifiers_exist(conn: &mut Conn) -> AppResult<bool> {
    let row = sqlx::query("SELECT 1 AS one FROM cards WHERE pin_verifier IS NOT NULL LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// Records the key's check value on a database that has none yet.
pub async fn record_check(conn: &mut Conn, key: &PinKey, now: i64) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO key_checks (name, check_value, created_at) VALUES ('pin', $1, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(key.check_value())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A new random salt for a card's verifier.
pub fn new_salt() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Checks a new PIN's shape and returns its salt and keyed verifier.
pub fn protect(key: &PinKey, pin: &str) -> crate::error::AppResult<(String, String)> {
    if !is_well_formed(pin) {
        return Err(crate::error::AppError::new(
            crate::error::Code::ValidationFailed,
            "a PIN is 4 to 6 digits",
        ));
    }
    let salt = new_salt();
    let verifier = key.verifier(&salt, pin);
    Ok((salt, verifier))
}

/// A PIN is 4 to 6 digits.
pub fn is_well_formed(pin: &str) -> bool {
    (4..=6).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_fingerprint_needs_the_key() {
        let a = PinKey::new(vec![1; 32]).unwrap();
        let b = PinKey::new(vec![2; 32]).unwrap();
        let sale = |pin: &str| format!(r#"{{"card_number":"9100","pin":"{pin}"}}"#);
        let of = |k: &PinKey, pin: &str| {
            k.fingerprint(&[b"POST", b"/api/v1/sales", sale(pin).as_bytes()])
        };
        assert_eq!(of(&a, "123456"), of(&a, "123456"));
        assert_ne!(of(&a, "123456"), of(&a, "123457"));
        assert_ne!(of(&a, "123456"), of(&b, "123456"));
    }

    #[test]
    fn verifier_depends_on_key_salt_and_pin() {
        let k1 = PinKey::new(vec![1; 32]).unwrap();
        let k2 = PinKey::new(vec![2; 32]).unwrap();
        let v = k1.verifier("s", "123456");
        assert!(k1.matches("s", "123456", &v));
        assert!(!k1.matches("s", "123457", &v));
        assert!(!k1.matches("t", "123456", &v));
        assert!(!k2.matches("s", "123456", &v));
        assert!(!v.contains("123456"));
    }

    #[test]
    fn pin_shape() {
        assert!(is_well_formed("1234"));
        assert!(is_well_formed("123456"));
        assert!(!is_well_formed("123"));
        assert!(!is_well_formed("12a4"));
        assert!(PinKey::new(vec![0; 8]).is_none());
    }
}
