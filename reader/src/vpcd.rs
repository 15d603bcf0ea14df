//! A software card in a real PC/SC reader: the card side of vpcd.
//!
//! The vpcd driver inside pcscd (package `vsmartcard-vpcd`) listens on TCP,
//! one port per slot (35963 for slot 0, 35964 for slot 1), and a virtual
//! card connects to it as a client. While the connection is open, pcscd
//! sees a card in that slot; closing it pulls the card out. Every message in
//! either direction is a 2-byte big-endian length and that many bytes. From
//! the reader, a 1-byte message is a control byte (power off, power on,
//! reset, which get no answer; get ATR, which gets the ATR), anything longer
//! is a command APDU answered with the response APDU.
//!
//! [`VirtualCard`] serves any [`Applet`] this way on a background thread,
//! and can pull the card out and put it back, as a cashier does, so tests
//! can tear a transaction through the real PC/SC stack.
//!
//! An applet that answers a command with an **empty** response is taken to
//! have left the field in the middle of that command: the connection is
//! closed without an answer, exactly what a card pulled mid-command looks
//! like to the reader (vpcd itself ejects a card on an empty message, so
//! one is never sent).

use std::collections::BTreeMap;
use std::io::{self, Read as _, Write as _};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::transport::{Applet, Power};

/// vpcd's port for slot 0 (`0x8C7B`, from `/etc/reader.conf.d/vpcd`);
/// slot *n* listens on `BASE_PORT + n`.
pub const BASE_PORT: u16 = 0x8C7B;

/// How long [`VirtualCard::insert`] keeps trying to reach pcscd by default:
/// long enough for a pcscd that is still starting, short enough that a
/// missing one is reported rather than waited for.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest message vpcd can frame (its length is two bytes). Every
/// message up to it is taken: the purse uses short APDUs only, but an
/// extended or malformed one from any PC/SC client must get a status word
/// from the card, not take the card out of the reader.
pub const MAX_COMMAND_LEN: usize = u16::MAX as usize;

/// ISO 7816-3 caps an ATR at 33 bytes; pcscd rejects longer ones.
const MAX_ATR_LEN: usize = 33;

/// Once the first byte of a message arrived, the rest must follow within
/// this time; a peer that stalls mid-message is not a reader we understand.
const FRAME_TIMEOUT: Duration = Duration::from_secs(5);

/// How often an idle connection wakes to notice that the card was removed.
const IDLE_POLL: Duration = Duration::from_millis(200);

/// Bounds each TCP connection attempt; on localhost a refusal is immediate.
const CONNECT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a card stays out after it left a slot before it goes back in.
/// pcscd notices an absence only when a presence poll (every 0.4 s) finds
/// the slot empty; a card back sooner is taken for the same card never
/// having left, and after a failed reset pcscd then keeps showing the slot
/// empty with a card in it. A real card cannot be swapped that fast either.
pub const REINSERT_GAP: Duration = Duration::from_millis(1000);

/// When a card last left each vpcd port, across all handles in the
/// process, for [`REINSERT_GAP`].
static LEFT_AT: Mutex<BTreeMap<u16, Instant>> = Mutex::new(BTreeMap::new());

fn note_left(port: u16) {
    lock(&LEFT_AT).insert(port, Instant::now());
}

/// Waits out what remains of [`REINSERT_GAP`] since a card left `port`.
fn wait_reinsert_gap(port: u16) {
    let left_at = lock(&LEFT_AT).get(&port).copied();
    if let Some(left_at) = left_at {
        let out_for = left_at.elapsed();
        if out_for < REINSERT_GAP {
            std::thread::sleep(REINSERT_GAP - out_for);
        }
    }
}

/// The control bytes vpcd sends as 1-byte messages.
const CTRL_OFF: u8 = 0x00;
const CTRL_ON: u8 = 0x01;
const CTRL_RESET: u8 = 0x02;
const CTRL_ATR: u8 = 0x04;

/// The answer a card gives when the applet broke its contract (a 1-byte or
/// oversized response): "no precise diagnosis", rather than a frame vpcd
/// would misread.
const SW_NO_DIAGNOSIS: [u8; 2] = [0x6F, 0x00];

/// The vpcd port of a slot: 35963 for slot 0, 35964 for slot 1.
pub const fn slot_port(slot: u16) -> u16 {
    BASE_PORT.saturating_add(slot)
}

/// Why a virtual card could not be inserted or was dropped by the reader.
#[derive(Debug, thiserror::Error)]
pub enum VpcdError {
    #[error(
        "pcscd's virtual reader does not listen on {addr} after {waited:?}: is pcscd running \
         with vsmartcard-vpcd? (reader/scripts/pcscd-up.sh starts it): {source}"
    )]
    NotListening {
        addr: SocketAddr,
        waited: Duration,
        #[source]
        source: io::Error,
    },
    #[error("vpcd connection: {0}")]
    Io(#[from] io::Error),
    #[error("vpcd sent something that is not the vpcd protocol: {0}")]
    Protocol(String),
    #[error("the virtual card's thread could not be started or ended abnormally: {0}")]
    Thread(String),
}

/// How one connection to the reader ended, when it ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// [`VirtualCard::remove`] pulled the card.
    Removed,
    /// pcscd closed the connection (it stopped, or ejected the card).
    ReaderClosed,
    /// The applet answered a command with nothing: it left the field
    /// mid-command, so the connection was closed without an answer.
    CardLeft,
}

/// A software card that can be put into and pulled out of a vpcd slot.
///
/// The applet is shared behind a mutex, held only while one message is
/// handled, so a test can look at the card's state between commands and
/// after the card was pulled. Dropping the handle pulls the card.
pub struct VirtualCard<A: Applet + Send + ?Sized + 'static> {
    applet: Arc<Mutex<A>>,
    addr: SocketAddr,
    connect_timeout: Duration,
    session: Option<Session>,
}

/// One insertion: the thread serving the connection and what it takes to
/// stop it from outside.
struct Session {
    /// A second handle on the socket: shutting it down wakes the serving
    /// thread out of a blocking read.
    stream: TcpStream,
    stop: Arc<AtomicBool>,
    /// Set by the serving thread before it closes the connection for good,
    /// so the card is out by the time pcscd can see it gone.
    out: Arc<AtomicBool>,
    thread: JoinHandle<Result<SessionEnd, VpcdError>>,
}

impl<A: Applet + Send + 'static> VirtualCard<A> {
    /// A card for the vpcd slot listening on `port` of this host (see
    /// [`slot_port`]). It is not inserted yet.
    pub fn new(applet: A, port: u16) -> Self {
        Self::shared(Arc::new(Mutex::new(applet)), port)
    }
}

impl<A: Applet + Send + ?Sized + 'static> VirtualCard<A> {
    /// Like [`VirtualCard::new`] for an applet the caller keeps a handle on
    /// (also the way to serve a `dyn Applet + Send`).
    pub fn shared(applet: Arc<Mutex<A>>, port: u16) -> Self {
        VirtualCard {
            applet,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            session: None,
        }
    }

    /// How long [`VirtualCard::insert`] (and reconnecting after pcscd
    /// restarts) keeps trying to reach the reader.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The address of the vpcd slot this card goes into.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The applet, locked: its state between commands.
    pub fn applet(&self) -> MutexGuard<'_, A> {
        lock(&self.applet)
    }

    /// Another handle on the shared applet.
    pub fn applet_handle(&self) -> Arc<Mutex<A>> {
        Arc::clone(&self.applet)
    }

    /// Puts the card into the reader: connects to vpcd, retrying until
    /// pcscd listens (at most the connect timeout), then serves the reader
    /// on a background thread. A card that left this slot less than
    /// [`REINSERT_GAP`] ago is held back for the rest of it.
    ///
    /// Returns once connected; pcscd reports the card present at its next
    /// poll (about 0.4 s), so wait for that with `get_status_change`
    /// rather than a sleep. Inserting an inserted card does nothing.
    pub fn insert(&mut self) -> Result<(), VpcdError> {
        if self.is_inserted() {
            return Ok(());
        }
        if let Some(end) = self.finished()
            && let Err(e) = end
        {
            tracing::warn!(error = %e, "the card's previous session had ended with an error");
        }
        wait_reinsert_gap(self.addr.port());
        let stop = Arc::new(AtomicBool::new(false));
        let stream = connect(self.addr, self.connect_timeout, &stop)?;
        let control = stream.try_clone()?;
        let applet = Arc::clone(&self.applet);
        let thread_stop = Arc::clone(&stop);
        let out = Arc::new(AtomicBool::new(false));
        let thread_out = Arc::clone(&out);
        let (addr, connect_timeout) = (self.addr, self.connect_timeout);
        let thread = std::thread::Builder::new()
            .name(format!("vpcd-card-{}", addr.port()))
            .spawn(move || {
                let ends = Ends {
                    stop: &thread_stop,
                    out: &thread_out,
                };
                run(&applet, stream, addr, connect_timeout, ends)
            })
            .map_err(|e| VpcdError::Thread(e.to_string()))?;
        tracing::debug!(%addr, "virtual card inserted");
        self.session = Some(Session {
            stream: control,
            stop,
            out,
            thread,
        });
        Ok(())
    }

    /// Pulls the card out: closes the connection (pcscd sees the card gone
    /// at its next poll) and waits for the serving thread. Reports an error
    /// the session had ended with before; removing a card that is not in
    /// the reader does nothing.
    pub fn remove(&mut self) -> Result<(), VpcdError> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        session.stop.store(true, Ordering::SeqCst);
        // The peer may have closed already; then there is nothing to shut.
        let _ = session.stream.shutdown(Shutdown::Both);
        let end = join(session.thread)?;
        tracing::debug!(addr = %self.addr, ?end, "virtual card removed");
        Ok(())
    }

    /// Whether the card is in the reader: its connection is being served.
    pub fn is_inserted(&self) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| !s.thread.is_finished() && !s.out.load(Ordering::SeqCst))
    }

    /// When the card left the reader on its own (pcscd went away for longer
    /// than the connect timeout, the applet left the field, or a protocol
    /// error), how that ended; `None` while it is still served or was never
    /// inserted.
    pub fn finished(&mut self) -> Option<Result<SessionEnd, VpcdError>> {
        if self.is_inserted() {
            return None;
        }
        let session = self.session.take()?;
        Some(join(session.thread))
    }
}

impl<A: Applet + Send + ?Sized + 'static> Drop for VirtualCard<A> {
    fn drop(&mut self) {
        if let Err(e) = self.remove() {
            tracing::warn!(error = %e, "virtual card session ended with an error");
        }
    }
}

impl<A: Applet + Send + ?Sized + 'static> std::fmt::Debug for VirtualCard<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualCard")
            .field("addr", &self.addr)
            .field("inserted", &self.is_inserted())
            .finish_non_exhaustive()
    }
}

fn lock<A: ?Sized>(applet: &Mutex<A>) -> MutexGuard<'_, A> {
    // A panic inside the applet leaves its state as it was at the panic;
    // the card is already out (the thread died), so inspecting it is fine.
    applet.lock().unwrap_or_else(PoisonError::into_inner)
}

fn join(thread: JoinHandle<Result<SessionEnd, VpcdError>>) -> Result<SessionEnd, VpcdError> {
    thread
        .join()
        .map_err(|_| VpcdError::Thread("the applet panicked".to_owned()))?
}

/// Connects to vpcd, retrying with a growing pause until it listens or
/// `timeout` passed.
fn connect(addr: SocketAddr, timeout: Duration, stop: &AtomicBool) -> Result<TcpStream, VpcdError> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        match TcpStream::connect_timeout(&addr, CONNECT_ATTEMPT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(source) => {
                let waited = start.elapsed();
                if waited >= timeout || stop.load(Ordering::SeqCst) {
                    return Err(VpcdError::NotListening {
                        addr,
                        waited,
                        source,
                    });
                }
                std::thread::sleep(pause.min(timeout.saturating_sub(waited)));
                pause = (pause * 2).min(Duration::from_millis(500));
            }
        }
    }
}

/// The serving thread: serves the connection, and when pcscd closes it
/// (pcscd restarted) connects again, so a long-running simulated card
/// survives a pcscd restart.
/// What ends a serving thread: the owner's stop, and the flag it sets when
/// the card leaves for good.
struct Ends<'a> {
    stop: &'a AtomicBool,
    out: &'a AtomicBool,
}

fn run<A: Applet + ?Sized>(
    applet: &Mutex<A>,
    mut stream: TcpStream,
    addr: SocketAddr,
    connect_timeout: Duration,
    ends: Ends<'_>,
) -> Result<SessionEnd, VpcdError> {
    let stop = ends.stop;
    loop {
        let end = serve(applet, &mut stream, stop);
        if !matches!(end, Ok(SessionEnd::ReaderClosed)) || stop.load(Ordering::SeqCst) {
            // Out before the connection closes: whoever waits for pcscd to
            // see the card gone then finds it out here too.
            ends.out.store(true, Ordering::SeqCst);
        }
        // The handle holds a clone of the socket, so dropping this one would
        // not close the connection: shut it, or the reader never sees the
        // card leave. It may be shut already.
        let _ = stream.shutdown(Shutdown::Both);
        note_left(addr.port());
        match end {
            Ok(SessionEnd::ReaderClosed) if !stop.load(Ordering::SeqCst) => {
                tracing::info!(%addr, "pcscd closed the connection; connecting again");
                // A restarted pcscd starts with the card powered off.
                lock(applet).power(Power::Off);
                wait_reinsert_gap(addr.port());
                stream = connect(addr, connect_timeout, stop)?;
            }
            Err(ref e) => {
                tracing::error!(%addr, error = %e, "virtual card session failed; card out");
                return end;
            }
            Ok(_) => return end,
        }
    }
}

/// Serves one connection until it closes, the card is removed, or the
/// reader breaks the protocol.
fn serve<A: Applet + ?Sized>(
    applet: &Mutex<A>,
    stream: &mut TcpStream,
    stop: &AtomicBool,
) -> Result<SessionEnd, VpcdError> {
    stream.set_read_timeout(Some(IDLE_POLL))?;
    stream.set_nodelay(true)?;
    let mut header = [0u8; 2];
    let mut message = vec![0u8; MAX_COMMAND_LEN];
    loop {
        match read_full(stream, &mut header, stop, true)? {
            Read::Full => {}
            Read::Closed => return Ok(SessionEnd::ReaderClosed),
            Read::Stopped => return Ok(SessionEnd::Removed),
        }
        let len = usize::from(u16::from_be_bytes(header));
        if len == 0 {
            return Err(VpcdError::Protocol("an empty message".to_owned()));
        }
        // `len` came from two bytes: the buffer holds any message.
        let message = &mut message[..len];
        match read_full(stream, message, stop, false)? {
            Read::Full => {}
            Read::Closed => return Ok(SessionEnd::ReaderClosed),
            Read::Stopped => return Ok(SessionEnd::Removed),
        }
        match *message {
            [control] => {
                if let Some(atr) = control_message(applet, control) {
                    if atr.is_empty() || atr.len() > MAX_ATR_LEN {
                        // An empty ATR would eject the card; one too long
                        // would be refused. Either way the applet is wrong.
                        return Err(VpcdError::Protocol(format!(
                            "the applet's ATR has {} bytes (1 to {MAX_ATR_LEN} allowed)",
                            atr.len()
                        )));
                    }
                    write_message(stream, &atr)?;
                }
            }
            ref command => {
                let response = lock(applet).process(command);
                log_exchange(command, &response);
                if response.is_empty() {
                    return Ok(SessionEnd::CardLeft);
                }
                if response.len() < 2 || response.len() > usize::from(u16::MAX) {
                    tracing::error!(
                        len = response.len(),
                        "the applet's response is not an APDU response; answering 6F00"
                    );
                    write_message(stream, &SW_NO_DIAGNOSIS)?;
                } else {
                    write_message(stream, &response)?;
                }
            }
        }
    }
}

/// Handles a control byte; returns the ATR when the reader asked for it.
fn control_message<A: Applet + ?Sized>(applet: &Mutex<A>, control: u8) -> Option<Vec<u8>> {
    let event = match control {
        CTRL_OFF => Power::Off,
        CTRL_ON => Power::On,
        CTRL_RESET => Power::Reset,
        CTRL_ATR => return Some(lock(applet).atr()),
        other => {
            // vpcd defines no other control byte and waits for no answer.
            tracing::warn!(control = other, "unknown vpcd control byte ignored");
            return None;
        }
    };
    tracing::trace!(?event, "vpcd power");
    lock(applet).power(event);
    None
}

/// Logs the command header and status word only: a VERIFY carries the PIN
/// and a personalisation command carries keys.
fn log_exchange(command: &[u8], response: &[u8]) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let header = command.get(..4).unwrap_or(command);
    let sw = response
        .len()
        .checked_sub(2)
        .and_then(|i| response.get(i..));
    tracing::debug!(
        header = %hex::encode_upper(header),
        command_len = command.len(),
        response_len = response.len(),
        sw = %sw.map(hex::encode_upper).unwrap_or_default(),
        "vpcd apdu"
    );
}

enum Read {
    Full,
    /// The peer closed the connection before the message began.
    Closed,
    /// The card was removed from this side.
    Stopped,
}

/// Fills `buf` from the socket, waking every [`IDLE_POLL`] to notice a
/// removal. Before the first byte the wait is unbounded when `idle_ok`
/// (pcscd polls every 0.4 s anyway); after it, the rest must arrive within
/// [`FRAME_TIMEOUT`].
fn read_full(
    stream: &mut TcpStream,
    buf: &mut [u8],
    stop: &AtomicBool,
    idle_ok: bool,
) -> Result<Read, VpcdError> {
    let mut filled = 0;
    let mut deadline = (!idle_ok).then(|| Instant::now() + FRAME_TIMEOUT);
    while filled < buf.len() {
        if stop.load(Ordering::SeqCst) {
            return Ok(Read::Stopped);
        }
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        match stream.read(rest) {
            Ok(0) => {
                return if stop.load(Ordering::SeqCst) {
                    Ok(Read::Stopped)
                } else if filled == 0 && idle_ok {
                    Ok(Read::Closed)
                } else {
                    Err(VpcdError::Protocol(
                        "the connection closed in the middle of a message".to_owned(),
                    ))
                };
            }
            Ok(n) => {
                filled += n;
                deadline.get_or_insert_with(|| Instant::now() + FRAME_TIMEOUT);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if deadline.is_some_and(|d| Instant::now() > d) {
                    return Err(VpcdError::Protocol(format!(
                        "a message stalled after {filled} of {} bytes",
                        buf.len()
                    )));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if stop.load(Ordering::SeqCst) => {
                tracing::trace!(error = %e, "read ended by the removal");
                return Ok(Read::Stopped);
            }
            Err(e)
                if filled == 0
                    && idle_ok
                    && matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                    ) =>
            {
                return Ok(Read::Closed);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Read::Full)
}

/// Writes one framed message; the caller guarantees 1 to 65 535 bytes.
fn write_message(stream: &mut TcpStream, payload: &[u8]) -> Result<(), VpcdError> {
    let len = u16::try_from(payload.len())
        .map_err(|_| VpcdError::Protocol(format!("{} bytes cannot be framed", payload.len())))?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The protocol against a fake vpcd: a listener in the test playing
    //! pcscd's part, so these run without pcscd.

    use std::net::TcpListener;

    use super::*;

    /// Records power events and echoes commands with 9000.
    #[derive(Default)]
    struct Echo {
        events: Vec<Power>,
    }

    impl Applet for Echo {
        fn atr(&self) -> Vec<u8> {
            vec![0x3B, 0x80, 0x80, 0x01, 0x01]
        }
        fn power(&mut self, event: Power) {
            self.events.push(event);
        }
        fn process(&mut self, command: &[u8]) -> Vec<u8> {
            match command {
                [_, 0xEE, ..] => Vec::new(),
                [_, 0xEF, ..] => vec![0x90],
                _ => {
                    let mut r = command.to_vec();
                    r.extend_from_slice(&[0x90, 0x00]);
                    r
                }
            }
        }
    }

    fn send(s: &mut TcpStream, payload: &[u8]) {
        let mut frame = u16::try_from(payload.len()).unwrap().to_be_bytes().to_vec();
        frame.extend_from_slice(payload);
        s.write_all(&frame).unwrap();
    }

    fn recv(s: &mut TcpStream) -> Option<Vec<u8>> {
        let mut h = [0u8; 2];
        s.read_exact(&mut h).ok()?;
        let mut m = vec![0u8; usize::from(u16::from_be_bytes(h))];
        s.read_exact(&mut m).ok()?;
        Some(m)
    }

    fn fake_reader() -> (TcpListener, u16) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        (l, port)
    }

    #[test]
    fn answers_control_and_commands_and_is_removed() {
        let (listener, port) = fake_reader();
        let mut card = VirtualCard::new(Echo::default(), port);
        card.insert().unwrap();
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        send(&mut s, &[CTRL_ON]);
        send(&mut s, &[CTRL_ATR]);
        assert_eq!(recv(&mut s).unwrap(), vec![0x3B, 0x80, 0x80, 0x01, 0x01]);
        send(&mut s, &[0x00, 0xB0, 0x95, 0x00, 0x1E]);
        assert_eq!(
            recv(&mut s).unwrap(),
            vec![0x00, 0xB0, 0x95, 0x00, 0x1E, 0x90, 0x00]
        );
        // A 1-byte answer is never passed on.
        send(&mut s, &[0x00, 0xEF, 0x00, 0x00]);
        assert_eq!(recv(&mut s).unwrap(), SW_NO_DIAGNOSIS.to_vec());
        send(&mut s, &[CTRL_RESET]);
        send(&mut s, &[0x7F]);
        send(&mut s, &[CTRL_OFF]);
        send(&mut s, &[CTRL_ATR]);
        assert!(recv(&mut s).is_some());
        assert_eq!(card.applet().events, [Power::On, Power::Reset, Power::Off]);
        assert!(card.is_inserted());

        card.remove().unwrap();
        assert!(!card.is_inserted());
        assert_eq!(recv(&mut s), None, "the reader sees the socket closed");

        // Re-inserting connects again, with the same card state.
        card.insert().unwrap();
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        send(&mut s, &[CTRL_ON]);
        send(&mut s, &[CTRL_ATR]);
        assert!(recv(&mut s).is_some());
        assert_eq!(card.applet().events.len(), 4);
    }

    #[test]
    fn an_empty_answer_pulls_the_card_mid_command() {
        let (listener, port) = fake_reader();
        let mut card = VirtualCard::new(Echo::default(), port);
        card.insert().unwrap();
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        send(&mut s, &[0x80, 0xEE, 0x00, 0x00]);
        assert_eq!(recv(&mut s), None);
        let deadline = Instant::now() + Duration::from_secs(5);
        while card.is_inserted() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(card.finished().unwrap().unwrap(), SessionEnd::CardLeft);
    }

    #[test]
    fn malformed_frames_disconnect_without_panic() {
        for bad in [vec![0x00, 0x00], vec![0xFF, 0xFF, 0x00]] {
            let (listener, port) = fake_reader();
            let mut card = VirtualCard::new(Echo::default(), port);
            card.insert().unwrap();
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s.write_all(&bad).unwrap();
            assert_eq!(recv(&mut s), None);
            let deadline = Instant::now() + Duration::from_secs(5);
            while card.is_inserted() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            assert!(matches!(card.finished(), Some(Err(VpcdError::Protocol(_)))));
        }
    }

    #[test]
    fn a_missing_reader_is_reported_after_the_timeout() {
        let (listener, port) = fake_reader();
        drop(listener);
        let mut card = VirtualCard::new(Echo::default(), port)
            .with_connect_timeout(Duration::from_millis(300));
        let start = Instant::now();
        let err = card.insert().unwrap_err();
        assert!(matches!(err, VpcdError::NotListening { .. }), "{err}");
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn serves_a_dyn_applet() {
        let (listener, port) = fake_reader();
        let applet: Arc<Mutex<dyn Applet + Send>> = Arc::new(Mutex::new(Echo::default()));
        let mut card = VirtualCard::shared(applet, port);
        card.insert().unwrap();
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        send(&mut s, &[CTRL_ATR]);
        assert_eq!(recv(&mut s).unwrap(), card.applet().atr());
        card.remove().unwrap();
    }

    #[test]
    fn slots_map_to_ports() {
        assert_eq!(slot_port(0), 35963);
        assert_eq!(slot_port(1), 35964);
    }
}
