//! The action layer: one function per business action, shared by the API
//! handlers, the counter pages and the command line.
//!
//! An action takes the caller ([`Actor`](crate::auth::Actor)) and an owned
//! request value already parsed at the boundary. It asks the policy
//! ([`crate::auth::policy`]), runs its writes in one transaction through
//! [`run`] (the audit record goes into the same transaction, written by the
//! room below), and returns a typed result: the API serialises it, a page
//! renders it. So a page never keeps its own copy of a flow, and the two can
//! never disagree about what is allowed.

pub mod acquisition;
pub mod admin;
pub mod alliance;
pub mod card_life;
pub mod chip;
pub mod counter;
pub mod credit;
pub mod crm;
pub mod fleet;
pub mod holds;
pub mod jobs;
pub mod reads;
pub mod run;
pub mod session;
pub mod shifts;
pub mod users;

use std::sync::Arc;

use crate::config::{Keys, Settings};
use crate::db::Db;

pub use run::{At, Done, Keyed, Work, create, idempotent, idempotent_then, once};

/// The running service: its database, keys, settings and clock, the
/// guessing throttle, and the card reader at this counter, if any.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub keys: Arc<Keys>,
    pub settings: Arc<Settings>,
    /// The card reader at this counter with its key service; `None` on a
    /// server without one (the chip routes then answer 503).
    pub chip: Option<Arc<crate::chip::Desk>>,
}

impl App {
    /// The instant of a request, read once from the service's clock and
    /// handed to everything the request does.
    pub fn now(&self) -> i64 {
        self.settings.clock.now_us()
    }
}
