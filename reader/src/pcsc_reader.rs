//! A card in a real PC/SC reader, through pcscd and the `pcsc` crate.
//!
//! Readers are chosen by a name prefix: an exact name wins, otherwise the
//! first reader whose name starts with the prefix, and the empty prefix
//! takes the first reader found (a station has one). Tests pass
//! `"Virtual PCD 00 01"` to reach the vpcd slot they fill.
//!
//! Waiting is done with `SCardGetStatusChange`, which returns as soon as a
//! reader's state changes, never by polling with sleeps, and every wait has
//! a deadline. Readers plugged in while waiting are picked up through the
//! PnP notification.

use std::collections::VecDeque;
use std::ffi::CString;
use std::time::{Duration, Instant};

use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};

use crate::transport::{Transport, TransportError};

/// The reader name prefix of the vpcd virtual reader (slots are
/// `"Virtual PCD 00 00"`, `"Virtual PCD 00 01"`).
pub const VIRTUAL_READER_PREFIX: &str = "Virtual PCD";

/// The longest command sent: a short APDU (header, Lc, 255 bytes, Le).
/// The e-purse needs nothing longer.
pub const MAX_COMMAND_LEN: usize = 261;

/// The longest any single wait on the reader lasts, whatever the caller
/// asks: a day, far beyond any counter's need, and short of the value
/// PC/SC reads as "forever".
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout.min(MAX_WAIT)).unwrap_or(now)
}

/// Why a reader or a card could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    #[error("pcscd is not running (start it with `pcscd`, or reader/scripts/pcscd-up.sh)")]
    NoService,
    #[error("no card reader is connected")]
    NoReaders,
    #[error("no reader is named or starts with {prefix:?} (readers: {available})")]
    NoSuchReader { prefix: String, available: String },
    #[error("no card in the reader {0}")]
    NoCard(String),
    #[error("the card in {0} is in exclusive use by another application")]
    Busy(String),
    #[error("nothing happened within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("PC/SC: {0}")]
    Pcsc(pcsc::Error),
}

impl From<ReaderError> for TransportError {
    /// For callers that only speak `TransportError`, such as code written
    /// against the in-process card.
    fn from(e: ReaderError) -> Self {
        match e {
            ReaderError::Transport(t) => t,
            ReaderError::NoCard(_) => TransportError::NoCard,
            ReaderError::Timeout(d) => TransportError::Timeout(d),
            other => TransportError::Reader(other.to_string()),
        }
    }
}

/// Maps errors of context-level calls; card-level calls are mapped by
/// [`transport_error`].
fn reader_error(e: pcsc::Error) -> ReaderError {
    match e {
        pcsc::Error::NoService | pcsc::Error::ServiceStopped => ReaderError::NoService,
        pcsc::Error::NoReadersAvailable => ReaderError::NoReaders,
        other => ReaderError::Pcsc(other),
    }
}

/// Maps the errors of an exchange with a connected card. A reset by another
/// application loses the card's volatile state (selection, verified PIN, a
/// pending INITIALIZE) exactly as a removal does, and the caller's recovery
/// is the same (read the card again), so both are `CardRemoved`.
fn transport_error(e: pcsc::Error, started: Instant) -> TransportError {
    match e {
        pcsc::Error::RemovedCard | pcsc::Error::ResetCard => TransportError::CardRemoved,
        pcsc::Error::NoSmartcard => TransportError::NoCard,
        pcsc::Error::Timeout => TransportError::Timeout(started.elapsed()),
        pcsc::Error::InsufficientBuffer => {
            TransportError::Malformed("the answer is longer than a short APDU".to_owned())
        }
        pcsc::Error::NoService | pcsc::Error::ServiceStopped => {
            TransportError::Reader(ReaderError::NoService.to_string())
        }
        other => TransportError::Reader(other.to_string()),
    }
}

/// A connection to pcscd. Cheap to clone (the handle is shared).
#[derive(Clone)]
pub struct Pcsc {
    ctx: Context,
}

impl std::fmt::Debug for Pcsc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pcsc")
    }
}

/// A card found in a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardPresent {
    pub reader: String,
    pub atr: Vec<u8>,
}

impl Pcsc {
    /// Connects to pcscd; [`ReaderError::NoService`] when it is not running.
    pub fn establish() -> Result<Self, ReaderError> {
        let ctx = Context::establish(Scope::User).map_err(reader_error)?;
        Ok(Pcsc { ctx })
    }

    /// The names of the connected readers (empty when there are none).
    pub fn readers(&self) -> Result<Vec<String>, ReaderError> {
        match self.ctx.list_readers_owned() {
            Ok(names) => Ok(names
                .iter()
                .map(|n| n.to_string_lossy().into_owned())
                .collect()),
            Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
            Err(e) => Err(reader_error(e)),
        }
    }

    /// The reader named `name_or_prefix`, or else the first whose name
    /// starts with it ("" takes the first reader).
    pub fn find_reader(&self, name_or_prefix: &str) -> Result<String, ReaderError> {
        let readers = self.readers()?;
        if readers.is_empty() {
            return Err(ReaderError::NoReaders);
        }
        if let Some(exact) = readers.iter().find(|r| *r == name_or_prefix) {
            return Ok(exact.clone());
        }
        readers
            .iter()
            .find(|r| r.starts_with(name_or_prefix))
            .cloned()
            .ok_or_else(|| ReaderError::NoSuchReader {
                prefix: name_or_prefix.to_owned(),
                available: readers.join(", "),
            })
    }

    /// Waits until a card is in a reader matching `prefix` (one already
    /// there counts) and returns it; [`ReaderError::Timeout`] after
    /// `timeout`. A card that does not answer reset (mute) does not count.
    pub fn wait_for_card(
        &self,
        prefix: &str,
        timeout: Duration,
    ) -> Result<CardPresent, ReaderError> {
        let deadline = deadline_after(timeout);
        let mut watcher = self.watch(prefix);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match watcher.next_event(left)? {
                Some(ReaderEvent::CardInserted { reader, atr }) => {
                    return Ok(CardPresent { reader, atr });
                }
                Some(_) => {}
                None => return Err(ReaderError::Timeout(timeout)),
            }
        }
    }

    /// Waits until no card is in the reader `name_or_prefix` (an empty
    /// reader returns at once); [`ReaderError::Timeout`] after `timeout`.
    pub fn wait_for_removal(
        &self,
        name_or_prefix: &str,
        timeout: Duration,
    ) -> Result<(), ReaderError> {
        let deadline = deadline_after(timeout);
        let reader = self.find_reader(name_or_prefix)?;
        let name = c_name(&reader)?;
        let mut states = [ReaderState::new(name, State::UNAWARE)];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.ctx.get_status_change(left, &mut states) {
                Ok(()) => {}
                Err(pcsc::Error::Timeout) => return Err(ReaderError::Timeout(timeout)),
                Err(e) => return Err(reader_error(e)),
            }
            let [state] = &mut states;
            let now = state.event_state();
            if now.intersects(State::UNKNOWN | State::IGNORE) {
                return Err(ReaderError::NoSuchReader {
                    prefix: reader,
                    available: "the reader went away".to_owned(),
                });
            }
            if !now.contains(State::PRESENT) {
                return Ok(());
            }
            state.sync_current_state();
        }
    }

    /// Watches the readers matching `prefix` for cards coming and going.
    pub fn watch(&self, prefix: &str) -> Watcher {
        Watcher {
            ctx: self.ctx.clone(),
            prefix: prefix.to_owned(),
            states: vec![ReaderState::new(pcsc::PNP_NOTIFICATION(), State::UNAWARE)],
            known: Vec::new(),
            queue: VecDeque::new(),
            started: false,
        }
    }

    /// Connects to the card in the reader `name_or_prefix`, shared with
    /// other applications (use [`PcscCard::transaction`] for exclusive
    /// use), with T=0 or T=1, whichever the card offers.
    pub fn connect(&self, name_or_prefix: &str) -> Result<PcscCard, ReaderError> {
        let reader = self.find_reader(name_or_prefix)?;
        let name = c_name(&reader)?;
        let card = match self
            .ctx
            .connect(&name, ShareMode::Shared, Protocols::T0 | Protocols::T1)
        {
            Ok(card) => card,
            Err(pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard) => {
                return Err(ReaderError::NoCard(reader));
            }
            Err(pcsc::Error::SharingViolation) => return Err(ReaderError::Busy(reader)),
            Err(pcsc::Error::UnknownReader) => {
                return Err(ReaderError::NoSuchReader {
                    prefix: reader,
                    available: "the reader went away".to_owned(),
                });
            }
            Err(e) => return Err(reader_error(e)),
        };
        let atr = match card.status2_owned() {
            Ok(status) => status.atr().to_vec(),
            Err(e) => return Err(transport_error(e, Instant::now()).into()),
        };
        tracing::debug!(%reader, atr = %hex::encode_upper(&atr), "card connected");
        Ok(PcscCard {
            card,
            ctx: self.ctx.clone(),
            reader,
            atr,
        })
    }
}

fn c_name(reader: &str) -> Result<CString, ReaderError> {
    CString::new(reader).map_err(|_| ReaderError::NoSuchReader {
        prefix: reader.to_owned(),
        available: "a reader name cannot hold a NUL byte".to_owned(),
    })
}

/// The names of the connected readers; [`ReaderError::NoService`] when
/// pcscd is not running.
pub fn list_readers() -> Result<Vec<String>, ReaderError> {
    Pcsc::establish()?.readers()
}

/// Waits until a card is in a reader matching `reader_prefix`; see
/// [`Pcsc::wait_for_card`].
pub fn wait_for_card(reader_prefix: &str, timeout: Duration) -> Result<CardPresent, ReaderError> {
    Pcsc::establish()?.wait_for_card(reader_prefix, timeout)
}

/// Something that happened in a watched reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderEvent {
    /// A reader matching the prefix was plugged in.
    ReaderAdded { reader: String },
    /// A reader was unplugged (a card in it is reported removed first).
    ReaderRemoved { reader: String },
    /// A card was put in and answered reset.
    CardInserted { reader: String, atr: Vec<u8> },
    /// A card was put in but does not answer (mute, or inserted wrong).
    CardMute { reader: String },
    /// The card was taken out.
    CardRemoved { reader: String },
}

/// What the watcher last saw in one reader.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    present: bool,
    /// pcscd's count of insertions and removals: a change while the card
    /// is present both times means it was swapped between two looks.
    count: Option<u32>,
}

/// Card and reader events of the readers matching a prefix, from
/// [`Pcsc::watch`]. Cards already in a reader when watching starts are
/// reported first, as inserted.
pub struct Watcher {
    ctx: Context,
    prefix: String,
    /// The PnP notification first, then one state per watched reader.
    states: Vec<ReaderState>,
    /// Parallel to `states[1..]`.
    known: Vec<Seen>,
    queue: VecDeque<ReaderEvent>,
    started: bool,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("prefix", &self.prefix)
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl Watcher {
    /// The next event, waiting at most `timeout`; `None` when nothing
    /// happened in that time.
    pub fn next_event(&mut self, timeout: Duration) -> Result<Option<ReaderEvent>, ReaderError> {
        let deadline = deadline_after(timeout);
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Ok(Some(event));
            }
            if !self.started {
                self.add_new_readers(false)?;
                self.started = true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.ctx.get_status_change(left, &mut self.states) {
                Ok(()) => self.collect()?,
                Err(pcsc::Error::Timeout) => return Ok(None),
                // A reader went away between listing and waiting: look
                // again (the next call reports it gone).
                Err(pcsc::Error::UnknownReader) => {
                    self.drop_missing_readers()?;
                }
                Err(e) => return Err(reader_error(e)),
            }
            if self.queue.is_empty() && Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    /// The readers being watched.
    pub fn readers(&self) -> Vec<String> {
        self.states
            .iter()
            .skip(1)
            .map(|s| s.name().to_string_lossy().into_owned())
            .collect()
    }

    /// Turns what `get_status_change` reported into events, then takes the
    /// reported state as known, so the next wait blocks until a change.
    fn collect(&mut self) -> Result<(), ReaderError> {
        let mut pnp_changed = false;
        let mut gone = Vec::new();
        for (i, state) in self.states.iter_mut().enumerate() {
            let now = state.event_state();
            if i == 0 {
                pnp_changed = now.contains(State::CHANGED);
                state.sync_current_state();
                continue;
            }
            let reader = state.name().to_string_lossy().into_owned();
            let Some(seen) = self.known.get_mut(i - 1) else {
                continue;
            };
            if now.intersects(State::UNKNOWN | State::IGNORE) {
                if seen.present {
                    self.queue.push_back(ReaderEvent::CardRemoved {
                        reader: reader.clone(),
                    });
                }
                self.queue.push_back(ReaderEvent::ReaderRemoved { reader });
                gone.push(i);
                continue;
            }
            let present = now.contains(State::PRESENT);
            let count = state.event_count();
            let swapped = seen.present && present && seen.count.is_some_and(|c| c != count);
            if seen.present && (!present || swapped) {
                self.queue.push_back(ReaderEvent::CardRemoved {
                    reader: reader.clone(),
                });
            }
            if present && (!seen.present || swapped) {
                self.queue.push_back(if now.contains(State::MUTE) {
                    ReaderEvent::CardMute { reader }
                } else {
                    ReaderEvent::CardInserted {
                        reader,
                        atr: state.atr().to_vec(),
                    }
                });
            }
            *seen = Seen {
                present,
                count: Some(count),
            };
            state.sync_current_state();
        }
        for i in gone.into_iter().rev() {
            self.states.remove(i);
            self.known.remove(i - 1);
        }
        if pnp_changed {
            self.add_new_readers(true)?;
        }
        Ok(())
    }

    /// Starts watching readers that match and are not watched yet. Their
    /// state starts unknown, so the next wait returns at once with it.
    fn add_new_readers(&mut self, announce: bool) -> Result<(), ReaderError> {
        let readers = match self.ctx.list_readers_owned() {
            Ok(readers) => readers,
            Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(reader_error(e)),
        };
        for name in readers {
            let reader = name.to_string_lossy().into_owned();
            if !reader.starts_with(&self.prefix)
                || self
                    .states
                    .iter()
                    .skip(1)
                    .any(|s| s.name() == name.as_c_str())
            {
                continue;
            }
            if announce {
                self.queue.push_back(ReaderEvent::ReaderAdded { reader });
            }
            self.states.push(ReaderState::new(name, State::UNAWARE));
            self.known.push(Seen::default());
        }
        Ok(())
    }

    /// Stops watching readers pcscd no longer lists.
    fn drop_missing_readers(&mut self) -> Result<(), ReaderError> {
        let readers = match self.ctx.list_readers_owned() {
            Ok(readers) => readers,
            Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(reader_error(e)),
        };
        let mut i = 1;
        while i < self.states.len() {
            let listed = self
                .states
                .get(i)
                .is_some_and(|s| readers.iter().any(|r| r.as_c_str() == s.name()));
            if listed {
                i += 1;
                continue;
            }
            let reader = self.states.remove(i).name().to_string_lossy().into_owned();
            if self.known.remove(i - 1).present {
                self.queue.push_back(ReaderEvent::CardRemoved {
                    reader: reader.clone(),
                });
            }
            self.queue.push_back(ReaderEvent::ReaderRemoved { reader });
        }
        Ok(())
    }
}

/// A card in a PC/SC reader, connected and shared. Dropping it resets the
/// card, so a verified PIN never outlives the connection.
pub struct PcscCard {
    card: pcsc::Card,
    /// To ask pcscd whether the card is still there after a failure.
    ctx: Context,
    reader: String,
    atr: Vec<u8>,
}

impl std::fmt::Debug for PcscCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscCard")
            .field("reader", &self.reader)
            .field("atr", &hex::encode_upper(&self.atr))
            .finish_non_exhaustive()
    }
}

impl PcscCard {
    /// Connects to the card in the reader named `reader_name_or_prefix`
    /// (or the first whose name starts with it); see [`Pcsc::connect`].
    pub fn connect(reader_name_or_prefix: &str) -> Result<Self, ReaderError> {
        Pcsc::establish()?.connect(reader_name_or_prefix)
    }

    /// The full name of the reader the card is in.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The card's answer to reset, as seen at connection.
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// Whether the card is still in the reader.
    pub fn is_present(&self) -> bool {
        self.card
            .status2_owned()
            .is_ok_and(|s| s.status().contains(pcsc::Status::PRESENT))
    }

    /// Takes the card for this application alone until the guard is
    /// dropped or ended, so no other program's command lands between an
    /// INITIALIZE and its CREDIT or DEBIT. Exchanges go through the guard.
    pub fn transaction(&mut self) -> Result<CardTransaction<'_>, ReaderError> {
        let started = Instant::now();
        match self.card.transaction() {
            Ok(tx) => Ok(CardTransaction {
                tx,
                ctx: &self.ctx,
                reader: &self.reader,
            }),
            Err(pcsc::Error::SharingViolation) => Err(ReaderError::Busy(self.reader.clone())),
            Err(e) => Err(transport_error(e, started).into()),
        }
    }

    /// Disconnects without resetting the card, for a program that only
    /// read public data (no PIN verified, nothing begun): another
    /// application's session on the same card survives the look.
    pub fn leave(self) -> Result<(), ReaderError> {
        self.card
            .disconnect(Disposition::LeaveCard)
            .map_err(|(_, e)| reader_error(e))
    }

    /// Disconnects and resets the card, reporting a failure (dropping the
    /// card does the same silently).
    pub fn disconnect(self) -> Result<(), ReaderError> {
        self.card
            .disconnect(Disposition::ResetCard)
            .map_err(|(_, e)| reader_error(e))
    }
}

impl Transport for PcscCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        transmit(&self.card, &self.ctx, &self.reader, command)
    }
}

/// Exclusive use of a card, from [`PcscCard::transaction`]. Ends when
/// dropped, leaving the card as it is (powered, application selected).
pub struct CardTransaction<'a> {
    tx: pcsc::Transaction<'a>,
    ctx: &'a Context,
    reader: &'a str,
}

impl std::fmt::Debug for CardTransaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardTransaction")
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

impl CardTransaction<'_> {
    /// Ends the transaction, reporting a failure (dropping the guard ends
    /// it silently).
    pub fn end(self) -> Result<(), ReaderError> {
        let started = Instant::now();
        self.tx
            .end(Disposition::LeaveCard)
            .map_err(|(_, e)| transport_error(e, started).into())
    }
}

impl Transport for CardTransaction<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        transmit(&self.tx, self.ctx, self.reader, command)
    }
}

fn transmit(
    card: &pcsc::Card,
    ctx: &Context,
    reader: &str,
    command: &[u8],
) -> Result<Vec<u8>, TransportError> {
    if command.len() < 4 || command.len() > MAX_COMMAND_LEN {
        return Err(TransportError::Reader(format!(
            "a command of {} bytes is not a short APDU (4 to {MAX_COMMAND_LEN})",
            command.len()
        )));
    }
    let mut buffer = [0u8; pcsc::MAX_BUFFER_SIZE];
    let started = Instant::now();
    let response = match card.transmit(command, &mut buffer) {
        Ok(response) => response,
        Err(e) => {
            let error = after_failure(card, ctx, reader, e, started);
            tracing::debug!(%reader, pcsc = %e, error = %error, "transmit failed");
            return Err(error);
        }
    };
    if response.is_empty() {
        // No answer at all: the card stopped answering mid-command (vpcd
        // reports a card pulled mid-command this way). Whether it acted on
        // the command is unknown, exactly as after a removal, and the
        // recovery is the same: read the card again.
        tracing::debug!(%reader, "empty answer: the card left during the command");
        return Err(TransportError::CardRemoved);
    }
    if response.len() < 2 {
        return Err(TransportError::Malformed(format!(
            "an answer of {} bytes has no status word",
            response.len()
        )));
    }
    Ok(response.to_vec())
}

/// How long a failed exchange waits for pcscd to tell whether the card
/// left: two of its presence polls.
const REMOVAL_CONFIRM: Duration = Duration::from_secs(1);

/// A card pulled mid-command surfaces as a communication error (pcsc-lite
/// reports `NotTransacted`) before pcscd's next presence poll notices the
/// card gone. Ask pcscd, waiting at most [`REMOVAL_CONFIRM`], before calling
/// it a reader fault: a removal lets the caller recover the transaction.
fn after_failure(
    card: &pcsc::Card,
    ctx: &Context,
    reader: &str,
    e: pcsc::Error,
    started: Instant,
) -> TransportError {
    let error = transport_error(e, started);
    if !matches!(error, TransportError::Reader(_)) {
        return error;
    }
    let gone = match card.status2_owned() {
        Err(pcsc::Error::RemovedCard | pcsc::Error::ResetCard | pcsc::Error::NoSmartcard) => true,
        Ok(status) if !status.status().contains(pcsc::Status::PRESENT) => true,
        _ => card_leaves(ctx, reader, REMOVAL_CONFIRM),
    };
    if gone {
        TransportError::CardRemoved
    } else {
        error
    }
}

/// Whether the reader shows no card within `timeout`.
fn card_leaves(ctx: &Context, reader: &str, timeout: Duration) -> bool {
    let Ok(name) = CString::new(reader) else {
        return false;
    };
    let deadline = deadline_after(timeout);
    let mut states = [ReaderState::new(name, State::UNAWARE)];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if ctx.get_status_change(left, &mut states).is_err() {
            return false;
        }
        let [state] = &mut states;
        let now = state.event_state();
        if !now.contains(State::PRESENT) || now.contains(State::MUTE) {
            return true;
        }
        state.sync_current_state();
    }
}
