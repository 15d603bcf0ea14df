//! The card's chip (electronic purse) at the counter: reading a card,
//! loading value onto it (圈存), fuelling under grey lock (灰锁) and
//! uploading purchases a pump made offline.
//!
//! Value on a chip is a card account of its own on the host (`chip:<number>`,
//! floor zero), so the host and the chip can be compared at every read and
//! every chip movement is an ordinary ledger transfer. Every chip operation
//! that the card can leave half-done is written down on the host before the
//! card is asked to commit (a pending load, a fill with its unlock data), and
//! the next read of that card — at any station — finishes or undoes it by
//! what the card proves (GET TRANSACTION PROVE, GET GREY STATUS). So a value
//! exists exactly once whatever moment the card is pulled.
//!
//! The card is reached through a [`Slot`]: the counter's PC/SC reader, or a
//! software card in the same process. A chip operation runs on a blocking
//! thread that holds the card for its whole length — connected (dropping a
//! PC/SC connection resets the card, which would end a load between its two
//! halves) and in a PC/SC transaction (so no other program's command lands
//! between two of ours) — and waits on the database in between.

pub mod fills;
pub mod issue;
pub mod loads;
pub mod read;
pub mod uploads;

use std::sync::{Arc, Mutex};

use fuelcard_reader::keys::{KeyError, KeyService, Stamp};
use fuelcard_reader::pcsc_reader::PcscCard;
use fuelcard_reader::purse::data::PublicData;
use fuelcard_reader::purse::{Purse, PurseError};
use fuelcard_reader::transport::{Transport, TransportError};
use sqlx::Row;

use crate::cards::CardNumber;
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};

/// Where the service finds the card for one operation.
pub trait Slot: Send + Sync {
    /// Runs `work` on the card now in the slot, held for this service
    /// alone until `work` returns: no other program's command reaches the
    /// card between an INITIALIZE and its CREDIT or DEBIT. Fails without
    /// running `work` when there is no card or no reader.
    fn hold(&self, work: &mut dyn FnMut(&mut dyn Transport)) -> Result<(), TransportError>;
}

/// The counter's PC/SC reader, chosen by a name prefix. One operation at a
/// time: a second request waits for the card.
pub struct PcscSlot {
    reader: String,
    busy: Mutex<()>,
}

impl PcscSlot {
    pub fn new(reader: impl Into<String>) -> Self {
        PcscSlot {
            reader: reader.into(),
            busy: Mutex::new(()),
        }
    }
}

impl Slot for PcscSlot {
    /// The card is connected, taken in a PC/SC transaction for the whole
    /// operation, and reset when the connection drops (so a verified PIN
    /// never outlives it).
    fn hold(&self, work: &mut dyn FnMut(&mut dyn Transport)) -> Result<(), TransportError> {
        let _busy = self
            .busy
            .lock()
            .map_err(|_| TransportError::Reader("the reader lock was poisoned".into()))?;
        let mut card = PcscCard::connect(&self.reader).map_err(TransportError::from)?;
        let mut held = card.transaction().map_err(TransportError::from)?;
        work(&mut held);
        Ok(())
    }
}

/// A software card in the same process (tests of the host's chip logic
/// without a reader).
pub struct InProcessSlot<A: fuelcard_reader::transport::Applet + Send>(
    pub Arc<Mutex<fuelcard_reader::transport::InProcess<A>>>,
);

impl<A: fuelcard_reader::transport::Applet + Send> Slot for InProcessSlot<A> {
    fn hold(&self, work: &mut dyn FnMut(&mut dyn Transport)) -> Result<(), TransportError> {
        let mut card = self
            .0
            .lock()
            .map_err(|_| TransportError::Reader("the card lock was poisoned".into()))?;
        if !card.is_present() {
            return Err(TransportError::NoCard);
        }
        work(&mut *card);
        Ok(())
    }
}

/// The reader at this counter with what it needs: the slot, the key
/// service (keys never leave it), this terminal's ID and the AID.
pub struct Desk {
    pub slot: Box<dyn Slot>,
    pub keys: Arc<dyn KeyService>,
    pub terminal: [u8; 6],
    pub aid: Vec<u8>,
}

impl Desk {
    pub fn terminal_hex(&self) -> String {
        hex::encode_upper(self.terminal)
    }
}

/// The host side of one chip operation: the database, the runtime the chip
/// thread waits on, who works the counter, and when (the request's instant
/// and the operator's zone, for the card's time stamps).
#[derive(Clone, Copy)]
pub struct Host<'a> {
    pub db: &'a crate::db::Db,
    pub handle: &'a tokio::runtime::Handle,
    pub actor: &'a crate::auth::Actor,
    pub tz: chrono_tz::Tz,
    pub now: i64,
}

impl Host<'_> {
    /// Runs `work` in one write transaction, waited on from the chip thread.
    pub fn in_tx<R>(&self, work: impl AsyncFnOnce(&mut Conn) -> AppResult<R>) -> AppResult<R> {
        block_on_tx(self.handle, self.db, work)
    }
}

/// The card in the slot, selected and identified.
pub struct Opened<'a> {
    pub purse: Purse<'a>,
    pub public: PublicData,
}

/// Opens the card, selects the application and reads its public file. When
/// `expected` is given, the card must be that card.
pub fn open<'a>(
    transport: &'a mut dyn Transport,
    desk: &Desk,
    expected: Option<&CardNumber>,
) -> AppResult<Opened<'a>> {
    let mut purse = Purse::new(transport);
    purse.select(&desk.aid).map_err(refused)?;
    let public = purse.read_public().map_err(refused)?;
    if let Some(n) = expected {
        if public.card_number != n.as_str() {
            // The number goes along so a client can say which card it is
            // (all zeros: a blank card, to be written first).
            return Err(AppError::new(
                Code::ChipCardMismatch,
                format!("the card in the reader is {}, not {n}", public.card_number),
            )
            .with("in_reader", public.card_number));
        }
    }
    Ok(Opened { purse, public })
}

/// Runs a chip operation on a blocking thread with the card open; `work`
/// may wait on the database with the runtime handle it is given.
pub async fn with_card<R, F>(desk: Arc<Desk>, work: F) -> AppResult<R>
where
    R: Send + 'static,
    F: FnOnce(&Desk, &mut dyn Transport, &tokio::runtime::Handle) -> AppResult<R> + Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut work = Some(work);
        let mut done = None;
        desk.slot
            .hold(&mut |transport| {
                if let Some(work) = work.take() {
                    done = Some(work(&desk, transport, &handle));
                }
            })
            .map_err(unreachable_card)?;
        done.unwrap_or_else(|| {
            Err(AppError::internal(
                "chip operation",
                "the slot did not run the operation",
            ))
        })
    })
    .await
    .map_err(|e| AppError::internal("chip operation", e))?
}

/// Runs a counter's chip operation: the card open on a blocking thread, and
/// the host side (`db`, `actor`, the request's instant `now` in zone `tz`)
/// ready for it.
pub async fn at_counter<R, F>(
    desk: Arc<Desk>,
    db: crate::db::Db,
    actor: crate::auth::Actor,
    tz: chrono_tz::Tz,
    now: i64,
    work: F,
) -> AppResult<R>
where
    R: Send + 'static,
    F: FnOnce(&Host<'_>, &Desk, &mut dyn Transport) -> AppResult<R> + Send + 'static,
{
    with_card(desk, move |desk, transport, handle| {
        let host = Host {
            db: &db,
            handle,
            actor: &actor,
            tz,
            now,
        };
        work(&host, desk, transport)
    })
    .await
}

/// Maps a transport failure: no card, a card pulled, or no reader.
pub fn unreachable_card(e: TransportError) -> AppError {
    match e {
        TransportError::NoCard | TransportError::CardRemoved => AppError::new(
            Code::NoCardInReader,
            "no card in the reader: put the card in and try again",
        ),
        other => AppError::new(
            Code::ReaderUnavailable,
            format!("the card reader is not available: {other}"),
        ),
    }
}

/// Maps what the card or the key service refused into the service's codes.
pub fn refused(e: PurseError) -> AppError {
    match e {
        PurseError::Transport(t) => unreachable_card(t),
        PurseError::WrongPin { tries_left } => AppError::new(
            Code::WrongPin,
            format!("wrong PIN for the chip: {tries_left} tries left"),
        )
        .with("tries_left", tries_left),
        PurseError::PinLocked => AppError::new(
            Code::PinLocked,
            "the chip's PIN is blocked: unblock it at the counter",
        ),
        PurseError::InsufficientBalance => AppError::new(
            Code::InsufficientBalance,
            "the chip's balance does not cover this amount",
        ),
        PurseError::GreyLocked => AppError::new(
            Code::ChipGreyLocked,
            "the card is grey-locked by an unfinished fill; read it at the counter to settle it",
        ),
        PurseError::Key(KeyError::Mismatch(what)) => AppError::new(
            Code::ChipMacInvalid,
            format!("the card's {what} does not verify: the card is not ours or was tampered with"),
        ),
        PurseError::Key(KeyError::Unavailable(why)) => AppError::new(
            Code::ReaderUnavailable,
            format!("the key service cannot answer: {why}"),
        ),
        PurseError::MacInvalid => AppError::new(
            Code::ChipRefused,
            "the card refused the terminal's MAC (9302)",
        )
        .with("sw", "9302"),
        PurseError::Status { sw, meaning } => AppError::new(
            Code::ChipRefused,
            format!("the card refused: {meaning} ({sw:04X})"),
        )
        .with("sw", format!("{sw:04X}")),
        PurseError::Malformed(why) | PurseError::Invalid(why) => AppError::new(
            Code::ChipRefused,
            format!("the card's answer is unusable: {why}"),
        ),
    }
}

/// True when a failure leaves it open whether the card committed (the
/// card was pulled or stopped answering mid-command).
pub fn outcome_unknown(e: &PurseError) -> bool {
    matches!(e, PurseError::Transport(_) | PurseError::Malformed(_))
}

/// The date and time the card records for the instant `now_us`, in the
/// operator's time zone.
pub fn stamp_at(now_us: i64, tz: chrono_tz::Tz) -> AppResult<Stamp> {
    use chrono::Offset as _;
    let now = chrono::DateTime::<chrono::Utc>::from_timestamp_micros(now_us)
        .ok_or_else(|| AppError::internal("making a card time stamp", "time out of range"))?;
    let offset = now.with_timezone(&tz).offset().fix().local_minus_utc();
    Stamp::from_unix(now.timestamp(), offset)
        .map_err(|e| AppError::internal("making a card time stamp", e))
}

/// A stamp as stored: its 14 digits.
pub fn stamp_text(s: Stamp) -> String {
    format!("{}{}", hex::encode(s.date()), hex::encode(s.time()))
}

/// A stored stamp read back; a damaged one is an internal error.
pub fn stamp_parse(text: &str) -> AppResult<Stamp> {
    stamp_from_text(text).ok_or_else(|| AppError::internal("a stored stamp", text))
}

/// A stamp from its 14 digits, `None` unless they form one: for input,
/// where a bad stamp is the sender's mistake.
pub fn stamp_from_text(text: &str) -> Option<Stamp> {
    let bytes = hex::decode(text).ok()?;
    let (date, time) = bytes.split_at(4.min(bytes.len()));
    Stamp::from_bcd(date.try_into().ok()?, time.try_into().ok()?).ok()
}

/// Decodes fixed-size hex as stored (terminal IDs, randoms, TACs); damaged
/// data is an internal error.
pub fn unhex<const N: usize>(what: &str, text: &str) -> AppResult<[u8; N]> {
    hex_array(text).ok_or_else(|| AppError::internal("decoding stored chip data", what.to_string()))
}

/// Fixed-size hex, `None` unless `text` is exactly `N` bytes of it: for
/// input, where bad hex is the sender's mistake and logs nothing.
pub fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    hex::decode(text)
        .ok()
        .and_then(|b| <[u8; N]>::try_from(b).ok())
}

/// The host account mirroring a card's chip, created on first use with
/// floor zero like every card account.
pub async fn chip_account(conn: &mut Conn, number: &str, now: i64) -> AppResult<i64> {
    let name = format!("chip:{number}");
    sqlx::query(
        "INSERT INTO accounts (kind, name, floor_fen, created_at) VALUES ('card', $1, 0, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(&name)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("SELECT id FROM accounts WHERE name = $1")
        .bind(&name)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("id")?)
}

/// The next transaction counter of a terminal (its PSAM TTC).
pub async fn next_terminal_ttc(conn: &mut Conn, terminal: &str) -> AppResult<u32> {
    sqlx::query(
        "INSERT INTO chip_terminals (terminal, ttc) VALUES ($1, 0) ON CONFLICT (terminal) DO NOTHING",
    )
    .bind(terminal)
    .execute(&mut *conn)
    .await?;
    let row =
        sqlx::query("UPDATE chip_terminals SET ttc = ttc + 1 WHERE terminal = $1 RETURNING ttc")
            .bind(terminal)
            .fetch_one(&mut *conn)
            .await?;
    let ttc: i64 = row.try_get("ttc")?;
    u32::try_from(ttc).map_err(|e| AppError::internal("terminal counter", e))
}

/// Runs `work` in one write transaction from a blocking chip thread.
pub fn block_on_tx<R>(
    handle: &tokio::runtime::Handle,
    db: &crate::db::Db,
    work: impl AsyncFnOnce(&mut Conn) -> AppResult<R>,
) -> AppResult<R> {
    handle.block_on(in_tx(db, work))
}

/// Runs `work` in one write transaction.
pub async fn in_tx<R>(
    db: &crate::db::Db,
    work: impl AsyncFnOnce(&mut Conn) -> AppResult<R>,
) -> AppResult<R> {
    let mut tx = db.begin_write().await?;
    let r = work(&mut tx).await?;
    tx.commit().await?;
    Ok(r)
}

/// Whether the issuer keys with this check value are the ones this
/// database's chip records were made under. The first server with a reader
/// records its keys' check value; a later one with other keys would reject
/// every card's MAC and TAC, and is refused instead.
pub async fn issuer_keys_match(conn: &mut Conn, check: &str, now: i64) -> AppResult<bool> {
    sqlx::query(
        "INSERT INTO key_checks (name, check_value, created_at) VALUES ('issuer', $1, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(check)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("SELECT check_value FROM key_checks WHERE name = 'issuer'")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get::<String, _>("check_value")? == check)
}

/// A far expiry for holds that only the card may resolve: a pending load
/// or a grey lock must never release itself while the chip may hold the
/// value.
pub const NEVER: i64 = i64::MAX / 2;
