//! Command and response APDUs (ISO 7816-4, short form only).
//!
//! Short APDUs are all the e-purse needs: no command carries more than 255
//! bytes and no answer more than 256. Refusing the extended form keeps both
//! the builder and the card's parser small enough to check by eye.

use std::fmt;

/// Why bytes are not a well-formed APDU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApduError {
    #[error("command data of {0} bytes does not fit a short APDU (255 at most)")]
    DataTooLong(usize),
    #[error("a response needs at least the two status bytes, got {0} bytes")]
    ResponseTooShort(usize),
    #[error("a command needs at least the four header bytes, got {0} bytes")]
    CommandTooShort(usize),
    #[error("command of {len} bytes does not match its length byte {lc}")]
    CommandLength { len: usize, lc: u8 },
}

/// A command APDU. `le: Some(0)` asks for up to 256 bytes, as ISO 7816-4
/// encodes it; `None` means no answer data is expected.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    pub le: Option<u8>,
}

impl Command {
    /// A case-1 command (header only); add data and Le with the builders.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    pub fn with_le(mut self, le: u8) -> Self {
        self.le = Some(le);
        self
    }

    /// The bytes sent to the card: header, then Lc and data if any, then Le
    /// if any.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ApduError> {
        let lc =
            u8::try_from(self.data.len()).map_err(|_| ApduError::DataTooLong(self.data.len()))?;
        let mut out = Vec::with_capacity(6 + self.data.len());
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        if lc > 0 {
            out.push(lc);
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            out.push(le);
        }
        Ok(out)
    }

    /// Parses a short command APDU as a card receives it (cases 1 to 4).
    /// A 5-byte command is case 2 (the fifth byte is Le), so a command with
    /// `Lc = 0` cannot be expressed, as in ISO 7816-3.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        let [cla, ins, p1, p2, body @ ..] = bytes else {
            return Err(ApduError::CommandTooShort(bytes.len()));
        };
        let mut cmd = Self::new(*cla, *ins, *p1, *p2);
        match body {
            [] => {}
            [le] => cmd.le = Some(*le),
            [lc, rest @ ..] => {
                let lc_len = usize::from(*lc);
                if *lc == 0 {
                    return Err(ApduError::CommandLength {
                        len: bytes.len(),
                        lc: *lc,
                    });
                }
                if rest.len() == lc_len {
                    cmd.data = rest.to_vec();
                } else if rest.len() == lc_len + 1 {
                    cmd.data = rest[..lc_len].to_vec();
                    cmd.le = rest.last().copied();
                } else {
                    return Err(ApduError::CommandLength {
                        len: bytes.len(),
                        lc: *lc,
                    });
                }
            }
        }
        Ok(cmd)
    }
}

/// Whether a command with this INS carries a PIN or a key in its data
/// (VERIFY, PIN UNBLOCK, and the personalisation WRITE KEY and SET PIN), so
/// its data must never be printed or logged.
pub fn carries_secret(ins: u8) -> bool {
    matches!(ins, 0x20 | 0x24 | 0xD4 | 0xD8)
}

impl fmt::Debug for Command {
    /// Hex, because that is how APDUs appear in traces and specifications;
    /// a PIN or key in the data is redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = if carries_secret(self.ins) {
            "<redacted>".to_owned()
        } else {
            hex::encode_upper(&self.data)
        };
        write!(
            f,
            "Command({:02X} {:02X} {:02X} {:02X} data={data} le={:?})",
            self.cla, self.ins, self.p1, self.p2, self.le
        )
    }
}

/// A response APDU: the data, then the status word SW1 SW2.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: u16,
}

impl Response {
    pub fn new(data: impl Into<Vec<u8>>, sw: u16) -> Self {
        Self {
            data: data.into(),
            sw,
        }
    }

    pub fn status(sw: u16) -> Self {
        Self::new(Vec::new(), sw)
    }

    /// Splits raw bytes into data and status word.
    pub fn parse(raw: &[u8]) -> Result<Self, ApduError> {
        match raw {
            [data @ .., sw1, sw2] => Ok(Self::new(data, u16::from_be_bytes([*sw1, *sw2]))),
            _ => Err(ApduError::ResponseTooShort(raw.len())),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_be_bytes());
        out
    }

    pub fn is_ok(&self) -> bool {
        sw::is_ok(self.sw)
    }

    pub fn sw1(&self) -> u8 {
        self.sw.to_be_bytes()[0]
    }

    pub fn sw2(&self) -> u8 {
        self.sw.to_be_bytes()[1]
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Response(data={} sw={:04X})",
            hex::encode_upper(&self.data),
            self.sw
        )
    }
}

/// Status words the e-purse uses, and what they mean (READER.md §4).
pub mod sw {
    pub const OK: u16 = 0x9000;
    pub const WRONG_LENGTH: u16 = 0x6700;
    pub const MEMORY_FAILURE: u16 = 0x6581;
    pub const SECURITY_NOT_SATISFIED: u16 = 0x6982;
    pub const BLOCKED: u16 = 0x6983;
    pub const RANDOM_MISSING: u16 = 0x6984;
    pub const CONDITIONS_NOT_SATISFIED: u16 = 0x6985;
    pub const SM_MAC_MISSING: u16 = 0x6987;
    pub const SM_MAC_INCORRECT: u16 = 0x6988;
    pub const BAD_DATA: u16 = 0x6A80;
    pub const NOT_SUPPORTED: u16 = 0x6A81;
    pub const FILE_NOT_FOUND: u16 = 0x6A82;
    pub const RECORD_NOT_FOUND: u16 = 0x6A83;
    pub const BAD_P1P2: u16 = 0x6A86;
    pub const BAD_INS: u16 = 0x6D00;
    pub const BAD_CLA: u16 = 0x6E00;
    pub const MAC_INVALID: u16 = 0x9302;
    pub const APPLICATION_LOCKED: u16 = 0x9303;
    pub const INSUFFICIENT_BALANCE: u16 = 0x9401;
    pub const OUT_OF_RANGE: u16 = 0x9402;
    pub const KEY_INDEX_UNSUPPORTED: u16 = 0x9403;
    pub const MAC_UNAVAILABLE: u16 = 0x9406;

    pub fn is_ok(sw: u16) -> bool {
        sw == OK
    }

    /// The tries left that a `63Cx` answer to VERIFY reports.
    pub fn pin_tries_left(sw: u16) -> Option<u8> {
        let [sw1, sw2] = sw.to_be_bytes();
        (sw1 == 0x63 && sw2 & 0xF0 == 0xC0).then_some(sw2 & 0x0F)
    }

    /// A short meaning for logs and error messages; never empty.
    pub fn describe(sw: u16) -> &'static str {
        match sw {
            OK => "success",
            WRONG_LENGTH => "wrong length",
            MEMORY_FAILURE => "card memory failure; nothing was changed",
            SECURITY_NOT_SATISFIED => "security status not satisfied (PIN not verified)",
            BLOCKED => "PIN or key blocked",
            RANDOM_MISSING => "random value invalid or missing",
            CONDITIONS_NOT_SATISFIED => {
                "conditions of use not satisfied (no INITIALIZE, card grey-locked, or not personalised)"
            }
            SM_MAC_MISSING => "secure-messaging MAC missing",
            SM_MAC_INCORRECT => "secure-messaging MAC incorrect",
            BAD_DATA => "bad data field",
            NOT_SUPPORTED => "function not supported or application locked",
            FILE_NOT_FOUND => "file or application not found",
            RECORD_NOT_FOUND => "record not found",
            BAD_P1P2 => "bad P1/P2",
            BAD_INS => "instruction not supported",
            BAD_CLA => "class not supported",
            MAC_INVALID => "MAC invalid",
            APPLICATION_LOCKED => "application permanently locked",
            INSUFFICIENT_BALANCE => "insufficient balance",
            OUT_OF_RANGE => "amount or counter out of range",
            KEY_INDEX_UNSUPPORTED => "key index not supported",
            MAC_UNAVAILABLE => "required MAC or TAC unavailable",
            _ => match sw.to_be_bytes() {
                [0x61, _] => "more response data available (GET RESPONSE)",
                [0x6C, _] => "wrong Le; resend with the length given",
                [0x63, x] if x & 0xF0 == 0xC0 => "wrong PIN",
                [0x67, _] => "wrong length",
                [0x6B, _] => "bad P1/P2",
                _ => "unknown status",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_cases_round_trip() {
        let cases = [
            Command::new(0x00, 0xA4, 0x04, 0x00),
            Command::new(0x80, 0x5C, 0x00, 0x01).with_le(4),
            Command::new(0x00, 0x20, 0x00, 0x00).with_data(vec![0x12, 0x34]),
            Command::new(0x80, 0x50, 0x00, 0x01)
                .with_data(vec![1; 11])
                .with_le(0x10),
        ];
        for cmd in cases {
            let bytes = cmd.to_bytes().unwrap();
            assert_eq!(Command::parse(&bytes).unwrap(), cmd);
        }
    }

    #[test]
    fn command_bytes_are_short_form() {
        let cmd = Command::new(0x80, 0x50, 0x00, 0x01)
            .with_data(hex::decode("0100001000001122334455").unwrap())
            .with_le(0x10);
        assert_eq!(
            hex::encode_upper(cmd.to_bytes().unwrap()),
            "805000010B010000100000112233445510"
        );
    }

    #[test]
    fn long_data_is_refused() {
        let cmd = Command::new(0, 0, 0, 0).with_data(vec![0; 256]);
        assert_eq!(cmd.to_bytes(), Err(ApduError::DataTooLong(256)));
        assert!(
            Command::new(0, 0, 0, 0)
                .with_data(vec![0; 255])
                .to_bytes()
                .is_ok()
        );
    }

    #[test]
    fn malformed_commands_are_refused() {
        assert!(Command::parse(&[0x00, 0xA4, 0x04]).is_err());
        assert!(Command::parse(&[0x00, 0xA4, 0x04, 0x00, 0x03, 1, 2]).is_err());
        assert!(Command::parse(&[0x00, 0xA4, 0x04, 0x00, 0x01, 1, 2, 3]).is_err());
        assert!(Command::parse(&[0x00, 0xA4, 0x04, 0x00, 0x00, 1]).is_err());
    }

    #[test]
    fn responses_parse() {
        assert!(Response::parse(&[]).is_err());
        assert!(Response::parse(&[0x90]).is_err());
        let r = Response::parse(&[1, 2, 0x90, 0x00]).unwrap();
        assert_eq!(r.data, vec![1, 2]);
        assert!(r.is_ok());
        assert_eq!(Response::parse(&r.to_bytes()).unwrap(), r);
    }

    #[test]
    fn secrets_are_not_printed() {
        let verify = Command::new(0x00, 0x20, 0, 0).with_data(vec![0x12, 0x34, 0x56]);
        assert!(!format!("{verify:?}").contains("123456"));
        let key = Command::new(0x80, 0xD4, 1, 0).with_data(vec![0xAB; 17]);
        assert!(!format!("{key:?}").contains("ABAB"));
    }

    #[test]
    fn status_words() {
        assert_eq!(sw::pin_tries_left(0x63C2), Some(2));
        assert_eq!(sw::pin_tries_left(0x6983), None);
        assert_eq!(sw::describe(0x9302), "MAC invalid");
        assert_eq!(
            sw::describe(0x6110),
            "more response data available (GET RESPONSE)"
        );
        assert!(!sw::describe(0x1234).is_empty());
    }
}
