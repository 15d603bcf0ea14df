//! The issuer's master keys and the per-card keys diversified from them.
//!
//! Master keys live in a key file (or the `FUELCARD_ISSUER_KEYS`
//! environment variable) on the host that runs the key service, never in
//! the database and never in logs: `Debug` is redacted and there is no
//! `Display`. Parse errors name the line, never its content.

use std::fmt;
use std::path::Path;

use super::crypto::diversify;

/// The environment variable holding the key file's text or its path.
pub const ISSUER_KEYS_ENV: &str = "FUELCARD_ISSUER_KEYS";

/// Why issuer keys could not be loaded. Messages carry line numbers and
/// key names only.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read the key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{ISSUER_KEYS_ENV} is not set")]
    NotConfigured,
    #[error("key file line {line}: {problem}")]
    Line { line: usize, problem: &'static str },
    #[error("key file: the {0} key is missing")]
    Missing(&'static str),
}

/// Best effort to leave no key bytes in freed memory without `unsafe`:
/// overwrite, then make the write observable so it is not optimised away.
fn wipe(key: &mut [u8; 16]) {
    key.fill(0);
    std::hint::black_box(key);
}

/// The issuer master keys, one per purpose (each 2-key 3DES).
#[derive(Clone, PartialEq, Eq)]
pub struct IssuerKeys {
    load: [u8; 16],
    purchase: [u8; 16],
    tac: [u8; 16],
    pin_unlock: [u8; 16],
}

const NAMES: [&str; 4] = ["load", "purchase", "tac", "pin_unlock"];

impl IssuerKeys {
    pub fn new(load: [u8; 16], purchase: [u8; 16], tac: [u8; 16], pin_unlock: [u8; 16]) -> Self {
        Self {
            load,
            purchase,
            tac,
            pin_unlock,
        }
    }

    /// Fresh random master keys, e.g. for a demo or a test station.
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut rng = rand::rngs::OsRng;
        let mut k = [[0u8; 16]; 4];
        for key in &mut k {
            rng.fill_bytes(key);
        }
        let [load, purchase, tac, pin_unlock] = k;
        Self::new(load, purchase, tac, pin_unlock)
    }

    /// Parses the key file format: `name = <32 hex digits>` lines for
    /// `load`, `purchase`, `tac` and `pin_unlock`; blank lines and `#`
    /// comments ignored; every key exactly once.
    pub fn parse(text: &str) -> Result<Self, KeyFileError> {
        let mut found: [Option<[u8; 16]>; 4] = [None; 4];
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let err = |problem| KeyFileError::Line {
                line: line_no,
                problem,
            };
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (name, value) = line.split_once('=').ok_or(err("expected `name = hex`"))?;
            let slot = NAMES
                .iter()
                .position(|n| *n == name.trim())
                .ok_or(err("unknown key name (load, purchase, tac, pin_unlock)"))?;
            let mut key = [0u8; 16];
            hex::decode_to_slice(value.trim(), &mut key)
                .map_err(|_| err("a key is exactly 32 hex digits"))?;
            let entry = found.get_mut(slot).ok_or(err("unknown key name"))?;
            if entry.is_some() {
                return Err(err("key given twice"));
            }
            *entry = Some(key);
        }
        let take = |i: usize| found[i].ok_or(KeyFileError::Missing(NAMES[i]));
        Ok(Self::new(take(0)?, take(1)?, take(2)?, take(3)?))
    }

    pub fn from_file(path: &Path) -> Result<Self, KeyFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Reads a value of `FUELCARD_ISSUER_KEYS`: the key file's text itself
    /// (it contains `=`) or a path to the file.
    pub fn from_env_value(value: &str) -> Result<Self, KeyFileError> {
        if value.contains('=') {
            Self::parse(value)
        } else {
            Self::from_file(Path::new(value.trim()))
        }
    }

    /// Reads `FUELCARD_ISSUER_KEYS` once; call it at start-up, not deep in
    /// a request.
    pub fn from_env() -> Result<Self, KeyFileError> {
        let value = std::env::var(ISSUER_KEYS_ENV).map_err(|_| KeyFileError::NotConfigured)?;
        Self::from_env_value(&value)
    }

    /// The key file text for these keys, for writing a new key file. The
    /// caller must write it only to a file readable by the key service.
    pub fn to_key_file(&self) -> String {
        let mut out = String::from("# fuelcard issuer master keys: keep this file secret\n");
        for (name, key) in
            NAMES
                .iter()
                .zip([&self.load, &self.purchase, &self.tac, &self.pin_unlock])
        {
            out.push_str(&format!("{name} = {}\n", hex::encode_upper(key)));
        }
        out
    }

    /// The keys of the card with this ASN (its right eight bytes).
    /// The keys' check values, as key ceremonies print them (3DES of a
    /// zero block, its first three bytes), in the key file's order: enough
    /// to tell two sets of keys apart, nothing to recover one from.
    pub fn check_value(&self) -> String {
        [&self.load, &self.purchase, &self.tac, &self.pin_unlock]
            .iter()
            .map(|k| hex::encode_upper(&super::crypto::tdes_ecb(k, &[0; 8])[..3]))
            .collect::<Vec<_>>()
            .join("-")
    }

    pub fn card_keys(&self, asn8: [u8; 8]) -> CardKeys {
        CardKeys {
            dlk: diversify(&self.load, &asn8),
            dpk: diversify(&self.purchase, &asn8),
            dtk: diversify(&self.tac, &asn8),
            dpuk: diversify(&self.pin_unlock, &asn8),
        }
    }
}

impl fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IssuerKeys(<redacted>)")
    }
}

impl Drop for IssuerKeys {
    fn drop(&mut self) {
        for key in [
            &mut self.load,
            &mut self.purchase,
            &mut self.tac,
            &mut self.pin_unlock,
        ] {
            wipe(key);
        }
    }
}

/// One card's keys, as written into the card at personalisation: load
/// (DLK), purchase (DPK, also the grey-lock key), TAC (DTK) and PIN unblock
/// (DPUK).
#[derive(Clone, PartialEq, Eq)]
pub struct CardKeys {
    pub dlk: [u8; 16],
    pub dpk: [u8; 16],
    pub dtk: [u8; 16],
    pub dpuk: [u8; 16],
}

impl fmt::Debug for CardKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardKeys(<redacted>)")
    }
}

impl Drop for CardKeys {
    fn drop(&mut self) {
        for key in [&mut self.dlk, &mut self.dpk, &mut self.dtk, &mut self.dpuk] {
            wipe(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values_tell_keys_apart_and_hold_no_key() {
        let a = IssuerKeys::generate();
        let b = IssuerKeys::generate();
        assert_eq!(a.check_value(), a.clone().check_value());
        assert_ne!(a.check_value(), b.check_value());
        assert_eq!(a.check_value().len(), 4 * 6 + 3);
        // The published check value of the all-0x01.. test key: 3DES of
        // zeros under 0101…01 is 8CA64DE9C1B123A7.
        let ones = IssuerKeys::new([1; 16], [1; 16], [1; 16], [1; 16]);
        assert!(
            ones.check_value().starts_with("8CA64D-"),
            "{}",
            ones.check_value()
        );
    }

    const FILE: &str = "# test keys\n\
        load = 11223344556677888877665544332211\n\
        purchase=00112233445566778899AABBCCDDEEFF  # trailing comment\n\
        \n\
        tac = 0123456789abcdef0123456789ABCDEF\n\
        pin_unlock = FFEEDDCCBBAA99887766554433221100\n";

    #[test]
    fn parses_a_key_file() {
        let keys = IssuerKeys::parse(FILE).unwrap();
        assert_eq!(IssuerKeys::parse(&keys.to_key_file()).unwrap(), keys);
        assert_eq!(IssuerKeys::from_env_value(FILE).unwrap(), keys);
    }

    #[test]
    fn reads_a_key_file_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issuer.keys");
        std::fs::write(&path, FILE).unwrap();
        let keys = IssuerKeys::from_env_value(path.to_str().unwrap()).unwrap();
        assert_eq!(keys, IssuerKeys::parse(FILE).unwrap());
        assert!(matches!(
            IssuerKeys::from_env_value("/nonexistent/keys"),
            Err(KeyFileError::Read { .. })
        ));
    }

    #[test]
    fn refuses_bad_files_without_echoing_keys() {
        let secret = "load = 11223344556677888877665544332211";
        let bad = [
            format!("{secret}\n{secret}"),
            format!("{secret}\nlaod = 00"),
            "load = 1122".to_owned(),
            "load 11223344556677888877665544332211".to_owned(),
            secret.to_owned(),
        ];
        for text in bad {
            let err = IssuerKeys::parse(&text).unwrap_err().to_string();
            assert!(!err.contains("1122334455"), "{err}");
        }
        assert!(matches!(
            IssuerKeys::parse(secret),
            Err(KeyFileError::Missing("purchase"))
        ));
    }

    #[test]
    fn debug_is_redacted() {
        let keys = IssuerKeys::parse(FILE).unwrap();
        assert_eq!(format!("{keys:?}"), "IssuerKeys(<redacted>)");
        let card = keys.card_keys([0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(format!("{card:?}"), "CardKeys(<redacted>)");
    }

    #[test]
    fn card_keys_are_diversified_per_card() {
        let keys = IssuerKeys::parse(FILE).unwrap();
        let a = keys.card_keys([0, 0, 0, 0, 0, 0, 0, 1]);
        let b = keys.card_keys([0, 0, 0, 0, 0, 0, 0, 2]);
        assert_ne!(a.dlk, b.dlk);
        assert_ne!(a.dlk, a.dpk);
        assert_eq!(a, keys.card_keys([0, 0, 0, 0, 0, 0, 0, 1]));
    }
}
