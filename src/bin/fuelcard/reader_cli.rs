//! `fuelcard reader …` and `fuelcard card personalise`: the counter's card
//! reader from the command line, and a software card that can be put into
//! pcscd's virtual reader to try all of it without hardware.
//!
//! PC/SC calls block, so each command runs on a blocking thread; every wait
//! on the reader has a deadline.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use fuelcard_reader::card::SoftwareCard;
use fuelcard_reader::keys::{ISSUER_KEYS_ENV, IssuerKeys, SoftwareKeyService};
use fuelcard_reader::pcsc_reader::{Pcsc, PcscCard, ReaderEvent};
use fuelcard_reader::purse::data::{GreyStatus, Holder, PublicData, Record};
use fuelcard_reader::purse::{self, DEFAULT_AID, GreyFlag, KEY_INDEX, Purse, PurseError};
use fuelcard_reader::transport::{InProcess, Transport, TransportError};
use fuelcard_reader::vpcd::{self, SessionEnd, VirtualCard};

use fuelcard::cards::CardNumber;
use fuelcard::chip::{Desk, Slot, issue};
use fuelcard::money::Money;
use fuelcard::time::Clock;

/// The terminal ID used when `info` asks INITIALIZE FOR LOAD for the
/// online counter (nothing is loaded; the session dies with the reset).
const INFO_TERMINAL: [u8; 6] = [0; 6];
/// How long `sim` keeps trying to reach pcscd (at start and after a
/// pcscd restart) before giving up.
const SIM_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The slice `watch` waits in, so `--seconds` is kept to within it.
const WATCH_SLICE: Duration = Duration::from_secs(1);

#[derive(Subcommand, Debug)]
pub enum ReaderCommand {
    /// List the card readers pcscd knows.
    List,
    /// Print cards put in and taken out, with the number of each card that
    /// reads, until Ctrl-C (or --seconds).
    Watch {
        #[command(flatten)]
        reader: ReaderArg,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=86_400))]
        seconds: Option<u64>,
    },
    /// Read the card in a reader: number, kind, holder, chip balance,
    /// online and offline counters, grey-lock status, last records.
    Info {
        #[command(flatten)]
        reader: ReaderArg,
        #[command(flatten)]
        wait: WaitArg,
    },
    /// Put a software card (a JSON state file) into pcscd's virtual reader
    /// (vsmartcard-vpcd) and serve it until Ctrl-C.
    #[command(after_long_help = "Example, without a card reader:\n  \
        reader/scripts/pcscd-up.sh\n  \
        fuelcard card new-issuer-keys --out issuer-keys.txt\n  \
        export FUELCARD_ISSUER_KEYS=issuer-keys.txt\n  \
        fuelcard reader sim --card card.json --new &\n  \
        fuelcard card personalise --reader 'Virtual PCD 00 00' --number 9100000000000018 --holder 'Zhang San'\n  \
        fuelcard reader info --reader 'Virtual PCD 00 00'")]
    Sim(SimArgs),
}

#[derive(Subcommand, Debug)]
pub enum CardCommand {
    /// Write a blank card in a reader: its keys (diversified from the issuer
    /// keys), card number, holder and first PIN.
    Personalise(PersonaliseArgs),
    /// Create an issuer key file with fresh random master keys (for a new
    /// issuer, a test station or the demo); it is never overwritten.
    NewIssuerKeys {
        /// Where to write the key file (readable by its owner only).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ReaderArg {
    /// The reader: its full name or the start of it (see `fuelcard reader
    /// list`). Default: the first reader.
    #[arg(
        long,
        env = "FUELCARD_READER",
        default_value = "",
        hide_default_value = true
    )]
    pub reader: String,
}

#[derive(Args, Debug, Clone, Copy)]
pub struct WaitArg {
    /// Seconds to wait for a card to be put in (0: it must be there now).
    #[arg(long = "wait", value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(0..=3_600))]
    pub wait_seconds: u64,
}

/// The issuer master keys, needed to write card keys. Redacted in `Debug`:
/// the value may be the key file's text itself.
#[derive(Args, Clone)]
pub struct IssuerKeysArg {
    /// The issuer key file (lines `load|purchase|tac|pin_unlock = <32 hex>`);
    /// the environment variable may hold the file's text instead.
    #[arg(long = "issuer-keys", env = ISSUER_KEYS_ENV, hide_env_values = true, value_name = "FILE")]
    pub issuer_keys: Option<String>,
}

impl fmt::Debug for IssuerKeysArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IssuerKeysArg(<redacted>)")
    }
}

impl IssuerKeysArg {
    fn load(&self) -> anyhow::Result<SoftwareKeyService> {
        let Some(value) = self.issuer_keys.as_deref() else {
            bail!("the issuer keys are needed: pass --issuer-keys FILE or set {ISSUER_KEYS_ENV}");
        };
        let keys = IssuerKeys::from_env_value(value).context("loading the issuer keys")?;
        Ok(SoftwareKeyService::new(keys))
    }
}

/// What a new card gets besides its number. The PIN is redacted in `Debug`.
#[derive(Args, Clone)]
pub struct HolderArgs {
    /// The holder's name (at most 20 bytes of UTF-8; empty for a card
    /// without a named holder).
    #[arg(long, default_value = "")]
    pub holder: String,
    /// The card's first PIN, 4 to 12 digits; the holder changes it.
    #[arg(
        long,
        env = "FUELCARD_INITIAL_PIN",
        hide_env_values = true,
        default_value = "123456"
    )]
    pub pin: String,
}

impl fmt::Debug for HolderArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HolderArgs")
            .field("holder", &self.holder)
            .field("pin", &"<redacted>")
            .finish()
    }
}

#[derive(Args, Debug)]
pub struct SimArgs {
    /// The software card's state file (balance, counters and card keys:
    /// keep it private).
    #[arg(long, value_name = "FILE")]
    pub card: PathBuf,
    /// The virtual reader's TCP port: 35963 is slot 0 ("Virtual PCD 00 00"),
    /// 35964 slot 1.
    #[arg(long, env = "FUELCARD_VPCD_PORT", default_value_t = vpcd::BASE_PORT)]
    pub port: u16,
    /// Create the state file first (it must not exist): a blank card, to be
    /// personalised through the reader, or with --number a personalised one.
    #[arg(long)]
    pub new: bool,
    /// With --new: personalise the new card with this number (needs the
    /// issuer keys).
    #[arg(long, requires = "new")]
    pub number: Option<String>,
    #[command(flatten)]
    pub holder: HolderArgs,
    #[command(flatten)]
    pub keys: IssuerKeysArg,
}

#[derive(Args, Debug)]
pub struct PersonaliseArgs {
    #[command(flatten)]
    pub reader: ReaderArg,
    #[command(flatten)]
    pub wait: WaitArg,
    /// The card number to write: 16 digits ending in the check digit, as the
    /// service issues them.
    #[arg(long)]
    pub number: String,
    #[command(flatten)]
    pub holder: HolderArgs,
    #[command(flatten)]
    pub keys: IssuerKeysArg,
}

pub async fn run_reader(command: ReaderCommand) -> anyhow::Result<()> {
    match command {
        ReaderCommand::List => blocking(list).await,
        ReaderCommand::Watch { reader, seconds } => {
            blocking(move || watch(&reader.reader, seconds.map(Duration::from_secs))).await
        }
        ReaderCommand::Info { reader, wait } => {
            blocking(move || info(&reader.reader, wait.duration())).await
        }
        ReaderCommand::Sim(args) => sim(args).await,
    }
}

pub async fn run_card(command: CardCommand) -> anyhow::Result<()> {
    match command {
        CardCommand::Personalise(args) => blocking(move || personalise(&args)).await,
        CardCommand::NewIssuerKeys { out } => {
            write_private(&out, &IssuerKeys::generate().to_key_file())
                .with_context(|| format!("creating {}", out.display()))?;
            println!(
                "issuer keys written to {}: keep the file secret and backed up; \
                 cards personalised with them can be used only with them",
                out.display()
            );
            Ok(())
        }
    }
}

/// Creates `path` (never overwriting) readable by its owner only: it holds
/// master keys.
#[cfg(unix)]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

impl WaitArg {
    fn duration(self) -> Duration {
        Duration::from_secs(self.wait_seconds)
    }
}

async fn blocking<F>(f: F) -> anyhow::Result<()>
where
    F: FnOnce() -> anyhow::Result<()> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .context("the reader thread failed")?
}

fn list() -> anyhow::Result<()> {
    let readers = Pcsc::establish()?.readers()?;
    if readers.is_empty() {
        println!("no card reader is connected");
    }
    for (i, name) in readers.iter().enumerate() {
        println!("{i}: {name}");
    }
    Ok(())
}

fn watch(prefix: &str, seconds: Option<Duration>) -> anyhow::Result<()> {
    let pcsc = Pcsc::establish()?;
    let mut watcher = pcsc.watch(prefix);
    let deadline = seconds.map(|s| Instant::now() + s);
    let what = if prefix.is_empty() {
        "all readers".to_owned()
    } else {
        format!("readers named {prefix:?}…")
    };
    println!("watching {what}; Ctrl-C to stop");
    loop {
        let slice = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(());
                }
                left.min(WATCH_SLICE)
            }
            None => WATCH_SLICE,
        };
        let Some(event) = watcher.next_event(slice)? else {
            continue;
        };
        let now = Clock::system()
            .now()
            .with_timezone(&chrono::Local)
            .format("%H:%M:%S");
        match event {
            ReaderEvent::ReaderAdded { reader } => println!("{now} {reader}: reader connected"),
            ReaderEvent::ReaderRemoved { reader } => {
                println!("{now} {reader}: reader disconnected")
            }
            ReaderEvent::CardMute { reader } => {
                println!("{now} {reader}: card inserted but it does not answer")
            }
            ReaderEvent::CardRemoved { reader } => println!("{now} {reader}: card removed"),
            ReaderEvent::CardInserted { reader, atr } => {
                let number = match card_number(&pcsc, &reader) {
                    Ok(number) => format!("card {number}"),
                    Err(e) => format!("not one of our cards ({e:#})"),
                };
                println!(
                    "{now} {reader}: card inserted, ATR {}, {number}",
                    hex::encode_upper(&atr)
                );
            }
        }
    }
}

/// The number of the card in `reader`, read without disturbing another
/// program that may be using the card (no reset afterwards).
fn card_number(pcsc: &Pcsc, reader: &str) -> anyhow::Result<String> {
    let mut card = pcsc.connect(reader)?;
    let public = {
        let mut purse = Purse::new(&mut card);
        purse.select(&DEFAULT_AID)?;
        purse.read_public()?
    };
    card.leave()?;
    if is_blank(&public) {
        return Ok("blank (not personalised)".to_owned());
    }
    Ok(public.card_number)
}

/// A blank card answers READ BINARY with zeros: no ASN, no number.
fn is_blank(public: &PublicData) -> bool {
    public.asn.iter().all(|&b| b == 0)
}

/// Connects to the card in the reader, waiting up to `wait` for one.
fn connect(prefix: &str, wait: Duration) -> anyhow::Result<PcscCard> {
    let pcsc = Pcsc::establish()?;
    let reader = if wait.is_zero() {
        pcsc.find_reader(prefix)?
    } else {
        pcsc.wait_for_card(prefix, wait)
            .context("waiting for a card")?
            .reader
    };
    Ok(pcsc.connect(&reader)?)
}

fn info(prefix: &str, wait: Duration) -> anyhow::Result<()> {
    let mut card = connect(prefix, wait)?;
    println!("{:<16}{}", "reader", card.reader());
    println!("{:<16}{}", "ATR", hex::encode_upper(card.atr()));
    let reader = card.reader().to_owned();
    // One transaction: the answers belong together.
    let mut tx = card.transaction()?;
    let info = read_info(&mut tx).with_context(|| format!("reading the card in {reader}"))?;
    drop(tx);
    print!("{info}");
    Ok(())
}

/// Everything `reader info` shows, read with commands that change nothing
/// on the card.
enum CardInfo {
    /// Not personalised yet: nothing else to show.
    Blank,
    Fuel(FuelCardInfo),
}

struct FuelCardInfo {
    public: PublicData,
    holder: Holder,
    balance_fen: u32,
    online_ttc: Option<u16>,
    offline_ttc: Option<u16>,
    grey: GreyStatus,
    records: Vec<Record>,
}

fn read_info(t: &mut dyn Transport) -> Result<CardInfo, PurseError> {
    let mut purse = Purse::new(t);
    purse.select(&DEFAULT_AID)?;
    let public = purse.read_public()?;
    if is_blank(&public) {
        return Ok(CardInfo::Blank);
    }
    let holder = purse.read_holder()?;
    let balance_fen = purse.balance()?;
    let grey = purse.grey_status()?;
    let records = purse.records()?;
    // The purse has no command that reads the online counter; INITIALIZE
    // FOR LOAD of 0.01 reports it and changes nothing (its session is
    // dropped with the reset at disconnect). A full or grey-locked purse
    // refuses it; then the records tell.
    let online_ttc = match purse.init_load(KEY_INDEX, 1, INFO_TERMINAL) {
        Ok(init) => Some(init.online_ttc),
        Err(PurseError::Transport(e)) => return Err(PurseError::Transport(e)),
        Err(e) => {
            tracing::debug!(error = %e, "INITIALIZE FOR LOAD refused; counting from the records");
            counter_from_records(&records, |t| matches!(t, 0x01 | 0x02))
        }
    };
    let offline_ttc = offline_counter(&grey, &records);
    Ok(CardInfo::Fuel(FuelCardInfo {
        public,
        holder,
        balance_fen,
        online_ttc,
        offline_ttc,
        grey,
        records,
    }))
}

/// The offline counter, which reading it directly would need the PIN
/// (INITIALIZE FOR PURCHASE): a lock holds it; otherwise the records tell.
fn offline_counter(grey: &GreyStatus, records: &[Record]) -> Option<u16> {
    if grey.flag == GreyFlag::Locked {
        return Some(grey.ctc);
    }
    counter_from_records(records, |t| matches!(t, 0x05 | 0x06 | 0x09 | 0x93))
}

/// A counter from the records: the newest record of a transaction that
/// counts on it holds its value before that transaction; a card with fewer
/// records than it keeps and none of those among them has made none.
fn counter_from_records(records: &[Record], counts: impl Fn(u8) -> bool) -> Option<u16> {
    match records.iter().find(|r| counts(r.txn_type)) {
        Some(r) => r.ttc.checked_add(1),
        None if records.len() < usize::from(purse::MAX_RECORDS) => Some(0),
        None => None,
    }
}

fn yuan(fen: u32) -> Money {
    Money::from_fen(i64::from(fen))
}

fn bcd_date(d: [u8; 4]) -> String {
    let s = hex::encode(d);
    match (s.get(0..4), s.get(4..6), s.get(6..8)) {
        (Some(y), Some(m), Some(d)) => format!("{y}-{m}-{d}"),
        _ => s,
    }
}

fn bcd_time(t: [u8; 3]) -> String {
    let s = hex::encode(t);
    match (s.get(0..2), s.get(2..4), s.get(4..6)) {
        (Some(h), Some(m), Some(sec)) => format!("{h}:{m}:{sec}"),
        _ => s,
    }
}

fn txn_name(txn_type: u8) -> &'static str {
    match txn_type {
        0x01 => "load",
        0x02 => "load (EP)",
        0x03 => "unload",
        0x05 => "purchase",
        0x06 => "purchase (EP)",
        0x09 => "composite purchase",
        0x91 => "grey lock",
        0x93 => "debit for unlock",
        0x95 => "online unlock",
        _ => "other",
    }
}

fn counter(c: Option<u16>) -> String {
    c.map_or_else(|| "unknown".to_owned(), |c| c.to_string())
}

/// The holder's ID number with all but its last four characters hidden:
/// enough for the cashier to compare with the document.
fn masked(id: &str) -> String {
    let n = id.chars().count();
    id.chars()
        .enumerate()
        .map(|(i, c)| if i + 4 < n { '*' } else { c })
        .collect()
}

impl fmt::Display for CardInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardInfo::Blank => writeln!(
                f,
                "{:<16}none: a blank card (write it with `fuelcard card personalise`)",
                "card number"
            ),
            CardInfo::Fuel(info) => info.fmt(f),
        }
    }
}

impl fmt::Display for FuelCardInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.public;
        writeln!(f, "{:<16}{}", "card number", p.card_number)?;
        writeln!(
            f,
            "{:<16}holder type {:02X}{}, application type {:02X} version {:02X}",
            "kind",
            self.holder.kind,
            if self.holder.employee {
                " (employee)"
            } else {
                ""
            },
            p.app_type,
            p.app_version
        )?;
        writeln!(
            f,
            "{:<16}{} to {}",
            "valid",
            bcd_date(p.start_date),
            bcd_date(p.expiry_date)
        )?;
        let name = if self.holder.name.is_empty() {
            "(no name)"
        } else {
            &self.holder.name
        };
        if self.holder.id_number.is_empty() {
            writeln!(f, "{:<16}{name}", "holder")?;
        } else {
            writeln!(
                f,
                "{:<16}{name}, ID {}",
                "holder",
                masked(&self.holder.id_number)
            )?;
        }
        writeln!(f, "{:<16}{}", "chip balance", yuan(self.balance_fen))?;
        writeln!(f, "{:<16}{}", "online counter", counter(self.online_ttc))?;
        writeln!(f, "{:<16}{}", "offline counter", counter(self.offline_ttc))?;
        let g = &self.grey;
        match g.flag {
            GreyFlag::Clear => writeln!(f, "{:<16}clear", "grey lock")?,
            GreyFlag::Locked => writeln!(
                f,
                "{:<16}LOCKED by terminal {} at {} {} (balance {}): finish the sale with a debit for unlock",
                "grey lock",
                hex::encode_upper(g.terminal),
                bcd_date(g.date),
                bcd_time(g.time),
                yuan(g.balance_fen)
            )?,
            GreyFlag::TacUnread => writeln!(
                f,
                "{:<16}unlocked with a debit of {}, its TAC not yet collected",
                "grey lock",
                yuan(u32::from_be_bytes(g.word1))
            )?,
        }
        if self.records.is_empty() {
            return writeln!(f, "{:<16}none", "records");
        }
        writeln!(f, "records (newest first):")?;
        for r in &self.records {
            writeln!(
                f,
                "  {} {}  {:<18} {:>12}  terminal {}  counter {}",
                bcd_date(r.date),
                bcd_time(r.time),
                txn_name(r.txn_type),
                yuan(r.amount_fen).to_string(),
                hex::encode_upper(r.terminal),
                r.ttc
            )?;
        }
        Ok(())
    }
}

/// The issuing side of a counter, for personalising with the service's
/// own code: a card written here is the card the service would write.
/// The slot is never used: the CLI hands the card over directly.
fn issuing_desk(keys: SoftwareKeyService) -> Desk {
    Desk {
        slot: Box::new(NoSlot),
        keys: Arc::new(keys),
        terminal: [0; 6],
        aid: DEFAULT_AID.to_vec(),
    }
}

struct NoSlot;

impl Slot for NoSlot {
    fn hold(&self, _: &mut dyn FnMut(&mut dyn Transport)) -> Result<(), TransportError> {
        Err(TransportError::NoCard)
    }
}

fn personalise(args: &PersonaliseArgs) -> anyhow::Result<()> {
    let number = CardNumber::parse(&args.number)
        .with_context(|| format!("card number {:?}", args.number))?;
    let desk = issuing_desk(args.keys.load()?);
    let mut card = connect(&args.reader.reader, args.wait.duration())?;
    let reader = card.reader().to_owned();
    let mut tx = card.transaction()?;
    let written = issue::personalise(
        &desk,
        &mut tx,
        &number,
        &args.holder.holder,
        &args.holder.pin,
        Clock::system().today(chrono_tz::UTC),
    )
    .map_err(anyhow::Error::from)
    .with_context(|| format!("personalising the card in {reader} (is it blank?)"))?;
    tx.end()?;
    println!(
        "card {} personalised in {reader}, valid to {}",
        written.card_number,
        bcd_date(written.expiry_date)
    );
    Ok(())
}

/// Opens the software card, or creates it when asked.
fn sim_card(args: &SimArgs) -> anyhow::Result<SoftwareCard> {
    let path = &args.card;
    if !args.new {
        return SoftwareCard::open(path)
            .with_context(|| format!("opening {} (use --new to create it)", path.display()));
    }
    let number = args
        .number
        .as_deref()
        .map(|n| CardNumber::parse(n).with_context(|| format!("card number {n:?}")))
        .transpose()?;
    // The keys are checked before the file exists.
    let desk = match &number {
        Some(_) => Some(issuing_desk(args.keys.load()?)),
        None => None,
    };
    let card =
        SoftwareCard::create_blank(path).with_context(|| format!("creating {}", path.display()))?;
    let (Some(number), Some(desk)) = (number, desk) else {
        println!("blank card created in {}", path.display());
        return Ok(card);
    };
    let mut t = InProcess::new(card);
    issue::personalise(
        &desk,
        &mut t,
        &number,
        &args.holder.holder,
        &args.holder.pin,
        Clock::system().today(chrono_tz::UTC),
    )
    .map_err(anyhow::Error::from)
    .with_context(|| format!("personalising {}", path.display()))?;
    println!("card {number} created in {}", path.display());
    Ok(t.into_inner())
}

/// A line about the card for `sim`: its number and balance, or blank.
fn describe(card: SoftwareCard) -> (SoftwareCard, String) {
    if !card.is_personalised() {
        return (card, "a blank card".to_owned());
    }
    let balance = yuan(card.balance_fen());
    let mut t = InProcess::new(card);
    let number = {
        let mut purse = Purse::new(&mut t);
        purse
            .select(&DEFAULT_AID)
            .and_then(|()| purse.read_public())
            .map(|p| p.card_number)
    };
    let text = match number {
        Ok(number) => format!("card {number}, balance {balance}"),
        Err(e) => format!("a card that does not read ({e})"),
    };
    (t.into_inner(), text)
}

async fn sim(args: SimArgs) -> anyhow::Result<()> {
    let port = args.port;
    let path = args.card.clone();
    let (card, text) = tokio::task::spawn_blocking(move || sim_card(&args).map(describe))
        .await
        .context("the card thread failed")??;
    let mut vcard = VirtualCard::new(card, port).with_connect_timeout(SIM_CONNECT_TIMEOUT);
    let addr = vcard.addr();
    let mut vcard = tokio::task::spawn_blocking(move || vcard.insert().map(|()| vcard))
        .await
        .context("the card thread failed")?
        .with_context(|| format!("putting the card into the virtual reader on {addr}"))?;
    println!(
        "{text} is in the virtual reader on {addr} (slot {}); Ctrl-C takes it out",
        port.saturating_sub(vpcd::BASE_PORT)
    );
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            signal = &mut ctrl_c => {
                signal.context("waiting for Ctrl-C")?;
                break;
            }
            () = tokio::time::sleep(Duration::from_millis(500)) => {
                match vcard.finished() {
                    None => {}
                    Some(Ok(SessionEnd::Removed)) => break,
                    Some(Ok(end)) => bail!("the card left the reader ({end:?})"),
                    Some(Err(e)) => return Err(e).context("the virtual reader dropped the card"),
                }
            }
        }
    }
    let balance = tokio::task::spawn_blocking(move || {
        let removed = vcard.remove();
        let balance = vcard.applet().balance_fen();
        removed.map(|()| balance)
    })
    .await
    .context("the card thread failed")??;
    println!(
        "card taken out; balance {} saved in {}",
        yuan(balance),
        path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use fuelcard_reader::purse::data::Record;

    use super::*;

    fn record(txn_type: u8, ttc: u16) -> Record {
        Record {
            ttc,
            overdraft_limit_fen: 0,
            amount_fen: 100,
            txn_type,
            terminal: [0; 6],
            date: [0x20, 0x25, 0x06, 0x30],
            time: [0x14, 0x30, 0x00],
        }
    }

    #[test]
    fn the_offline_counter_follows_from_the_newest_purchase_record() {
        let grey = GreyStatus::parse(&[0u8; GreyStatus::LEN]).unwrap();
        assert_eq!(offline_counter(&grey, &[]), Some(0));
        assert_eq!(offline_counter(&grey, &[record(0x01, 4)]), Some(0));
        assert_eq!(
            offline_counter(&grey, &[record(0x01, 4), record(0x93, 6), record(0x05, 5)]),
            Some(7)
        );
        let loads: Vec<Record> = (0..10).map(|i| record(0x01, i)).collect();
        assert_eq!(offline_counter(&grey, &loads), None);
    }

    fn test_keys() -> SoftwareKeyService {
        SoftwareKeyService::new(
            IssuerKeys::parse(
                "load = 11223344556677888877665544332211\n\
                 purchase = 0123456789ABCDEFFEDCBA9876543210\n\
                 tac = 00112233445566778899AABBCCDDEEFF\n\
                 pin_unlock = F0E1D2C3B4A5968778695A4B3C2D1E0F\n",
            )
            .unwrap(),
        )
    }

    #[test]
    fn info_shows_a_blank_card_as_blank() {
        let mut t = InProcess::new(SoftwareCard::blank_in_memory());
        let info = read_info(&mut t).unwrap();
        assert!(matches!(info, CardInfo::Blank));
        assert!(info.to_string().contains("blank card"));
    }

    #[test]
    fn info_shows_balance_counters_grey_lock_and_records() {
        use fuelcard_reader::keys::Stamp;
        use fuelcard_reader::purse::Terminal;

        let keys = test_keys();
        let number = CardNumber::parse("9100000000000018").unwrap();
        let mut t = InProcess::new(SoftwareCard::blank_in_memory());
        let public = issue::personalise(
            &issuing_desk(test_keys()),
            &mut t,
            &number,
            "张三",
            "123456",
            chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
        )
        .unwrap();
        let stamp = Stamp::new(2025, 6, 30, 14, 30, 1).unwrap();
        let at = |ttc| Terminal {
            id: [0x00, 0x11, 0x22, 0x33, 0x44, 0x55],
            ttc,
            stamp,
        };
        {
            let mut p = Purse::new(&mut t);
            purse::load(&mut p, &keys, &public, 10_000, at(0).id, stamp).unwrap();
            p.verify_pin("123456").unwrap();
            purse::purchase_with_grey_lock(&mut p, &keys, &public, 3_000, &at(1), &at(2)).unwrap();
            purse::grey_lock(&mut p, &keys, &public, &at(3)).unwrap();
        }
        let text = read_info(&mut t).unwrap().to_string();
        for line in [
            "card number     9100000000000018",
            "holder          张三",
            "chip balance    70.00",
            "online counter  1",
            "offline counter 1",
            "grey lock       LOCKED by terminal 001122334455 at 2025-06-30 14:30:01 (balance 70.00)",
            "debit for unlock",
            "load",
        ] {
            assert!(text.contains(line), "{line:?} not in:\n{text}");
        }
    }

    #[test]
    fn dates_and_ids_read_as_people_expect() {
        assert_eq!(bcd_date([0x20, 0x25, 0x06, 0x30]), "2025-06-30");
        assert_eq!(bcd_time([0x14, 0x30, 0x05]), "14:30:05");
        assert_eq!(masked("110101199001011234"), "**************1234");
        assert_eq!(masked("12"), "12");
    }
}
