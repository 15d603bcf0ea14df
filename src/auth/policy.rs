//! Who may do what: the one table of business actions × roles → scope, and
//! [`authorize`], the one function every handler, page and tool asks.
//!
//! The table is data ([`POLICY`]) so that it can be read as a whole, printed
//! into the README ([`markdown`]) and tested route by route: every API
//! operation names the action it performs ([`Rule::operations`]), and the
//! role × route matrix test calls each operation as each role, in and out of
//! scope, and expects what the table says.
//!
//! A scope says *whose* business a role may touch: its own station's, its
//! own district's, its own company's, its own merchant's, everyone's, or
//! nobody's. What the business belongs to is the [`Target`] the caller
//! names. Rules about the money itself (a PIN, a balance, a card's state)
//! are the business rooms' own; the policy only decides who may ask.

use crate::auth::{Actor, Role};
use crate::error::{AppError, AppResult, Code};

/// Whose business a role may touch for one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Nobody's: the role may not perform the action at all.
    Never,
    /// The actor's own station's.
    Station,
    /// The stations of the actor's own district.
    District,
    /// The actor's own company's (a fleet manager's).
    Company,
    /// Any company's, but only with that company's word: the main card's
    /// PIN given at the counter.
    CompanyPin,
    /// The actor's own merchant's.
    Merchant,
    /// Everyone's.
    All,
}

impl Scope {
    /// How the README's table writes the scope.
    pub fn label(self) -> &'static str {
        match self {
            Scope::Never => "—",
            Scope::Station => "own station",
            Scope::District => "own district",
            Scope::Company => "own company",
            Scope::CompanyPin => "with main card PIN",
            Scope::Merchant => "own merchant",
            Scope::All => "all",
        }
    }
}

/// The business actions. Each reads or writes business data; each has one
/// row in [`POLICY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read one's own session, log out.
    UseSession,
    /// Create users and give them roles and scopes, list them, deactivate them.
    ManageUsers,
    /// Give another user a new password (one who forgot theirs): every
    /// session of theirs ends.
    ResetPasswords,
    /// Add stations to the network.
    ManageStations,
    /// Read the network's reference data: stations, products and prices.
    ReadReferenceData,
    /// Read a station's day-end report.
    ReadDayReport,
    /// Set prices and promotions.
    ManagePricing,
    /// Read the promotions that apply at the counter.
    ReadPromotions,
    /// Read the audit log and check the ledger.
    Audit,
    /// Record a customer at the counter.
    AddCustomer,
    /// Read a customer's record unmasked: phone and ID document number.
    ReadPersonalData,
    /// Open a card. Under a company's main card this also needs the
    /// company's word, which the card room asks for.
    OpenCard,
    /// Read a card: its balances, statement and recharge preview.
    ReadCard,
    /// Take money in at the counter onto a card.
    Recharge,
    /// Report a card lost, so that it can no longer spend.
    ReportLoss,
    /// Close, replace, convert or unlock a card: with the card's PIN or
    /// the holder's identity checked, which the card room asks for.
    ChangeCardLife,
    /// Close a company's account with the network: its main card, whose
    /// balance is booked as owed to the company and paid by bank transfer
    /// (`closure` of a main card). A company's money goes back to the
    /// company, never into a cashier's hand, and its registration number
    /// proves nothing at a counter: head office decides, on the company's
    /// instruction, or the company's own fleet manager.
    CloseCompanyAccount,
    /// Lift a card's lock against ID documents, set after too many wrong
    /// ones in a row ([`crate::cards::identity`]): head office only, since
    /// the lock is there because a counter tried too many.
    UnlockIdentity,
    /// Sell fuel or place a pre-authorisation at the actor's own counter.
    Sell,
    /// Move a company's money between its main card and its other cards.
    MoveCompanyFunds,
    /// Print a sale's or a recharge's receipt again (the counter pages).
    ReadReceipt,
    /// Read, capture or void a pre-authorisation.
    SettleHold,
    /// Open one's shift at one's own counter and read it.
    WorkShift,
    /// Close a shift with the counted amounts.
    CloseShift,
    /// Work a chip card in the counter's reader: read, personalise, load,
    /// start a pump fill.
    WorkChip,
    /// Finish a pump fill from the pump's report.
    FinishFill,
    /// Upload the purchases a station's pumps took from chips offline.
    UploadPumpRecords,
    /// Register a pump's terminal at the station it stands at.
    ManageTerminals,
    /// Read a company's fleet: vehicles, policy, plans, reviews, loans.
    ReadFleet,
    /// Decide for a company's fleet: vehicles, policy, plans, top-ups,
    /// loans, anomalies, cash refuels.
    DecideFleet,
    /// Let one sale of a vehicle past the company's own controls.
    GrantOverride,
    /// Register a vehicle of a company while opening its fleet card at the
    /// counter (`open_card` with a `vehicle`), on the company's word.
    RegisterVehicle,
    /// Add districts (片区) and name them.
    ManageDistricts,
    /// Develop prospects: add them, record visits, move them along the
    /// pipeline, win them; register flyer batches.
    WorkProspects,
    /// Note a lead at one's own station: a customer met at the counter
    /// who might become one, added to the station's prospects for its
    /// manager to develop.
    NoteLead,
    /// Read prospects and their visits.
    ReadProspects,
    /// Set a month's acquisition targets (a district's own: HQ only).
    SetTargets,
    /// Read the tracking table and the channels' conversion.
    ReadTargets,
    /// Read the leaderboard and the wins feed (the whole network's: they
    /// are there to be seen by every member of staff).
    ReadLeaderboard,
    /// Read a district's weekly report.
    ReadWeeklyReport,
    /// Submit a district's weekly report with notes, freezing it.
    SubmitWeeklyReport,
    /// Record a complaint received at a station (head office: at any
    /// station, named in the request).
    RecordComplaint,
    /// Take a complaint on: assign it, answer it, follow it up, close it
    /// (head office: any complaint, its senior managers in person).
    WorkComplaints,
    /// Read a station's complaints and a month's counts of them.
    ReadComplaints,
    /// Read a station's call-back list: its dormant customers.
    ReadCallbacks,
    /// Log a call or visit to a customer of the station (one on the
    /// call-back list, or any other), with its purpose, outcome and next
    /// step.
    CallCustomers,
    /// Read a station's customer care: its customers with their level,
    /// stage and last contact, its plan of visits, the birthdays and
    /// anniversaries coming.
    ReadCare,
    /// Plan a visit to a customer of the station, and call one off: the
    /// station's manager (or the district's), who prepares a key customer's
    /// visit; the counter logs the calls.
    PlanVisits,
    /// Add partner merchants and their offers; settle a merchant's month.
    ManageAlliance,
    /// Read a merchant, its offers, what they brought.
    ReadAlliance,
    /// Deliver a benefit (a merchant; a station's counter hands over gifts
    /// only), look benefits up, list a merchant's deliveries.
    Redeem,
    /// Reverse a delivery made by mistake: whoever delivered it — the
    /// merchant at its premises, the station whose counter handed a gift
    /// over — or head office. To anyone else it is not there.
    ReverseRedemption,
    /// Take the list of consenting grantees a partner must act on.
    ExportGrantees,
    /// Read a merchant's monthly settlement.
    ReadSettlement,
    /// Give a company a credit line (挂账), change its limit and terms.
    SetCreditLine,
    /// Open a company's card that buys on its credit line (`open_card`
    /// with `credit`): head office, or the company's own fleet manager.
    OpenCreditCard,
    /// Read a company's credit line and its monthly statements.
    ReadCredit,
    /// Book a company's payment against its credit line. A card centre
    /// books it from its bank statement; a station's counter takes no
    /// credit payments, so its till holds only its own recharges.
    BookCreditPayment,
    /// Read the statements due and overdue across the network, to chase
    /// them (催款).
    ReadCreditReminders,
    /// Read a customer's timeline with their archive: every station's
    /// counter serves any of the network's customers, and sees personal
    /// data as [`Action::ReadPersonalData`] lets it; a district manager
    /// reads the customers their cards' scope reaches
    /// ([`crate::cards::target`]).
    ReadCustomerArchive,
    /// Add a customer's contacts, set their consents, preferred station,
    /// notes and registration number: the counter that meets them, head
    /// office.
    EditCustomerArchive,
    /// Merge two records of the same customer: head office, which sees
    /// the whole network's records.
    MergeCustomers,
}

/// One row of the policy: an action, the API operations (by operation id)
/// that perform it, and each role's scope.
#[derive(Debug)]
pub struct Rule {
    pub action: Action,
    pub operations: &'static [&'static str],
    pub admin: Scope,
    pub hq: Scope,
    pub district_manager: Scope,
    pub station_manager: Scope,
    pub cashier: Scope,
    pub fleet_manager: Scope,
    pub merchant: Scope,
}

impl Rule {
    pub fn scope(&self, role: Role) -> Scope {
        match role {
            Role::Admin => self.admin,
            Role::Hq => self.hq,
            Role::DistrictManager => self.district_manager,
            Role::StationManager => self.station_manager,
            Role::Cashier => self.cashier,
            Role::FleetManager => self.fleet_manager,
            Role::Merchant => self.merchant,
        }
    }
}

/// The operations anyone may call, logged in or not.
/// (Logging out without a session has nothing to end and answers the same
/// as with one.)
pub const PUBLIC_OPERATIONS: &[&str] = &["healthz", "document", "login", "logout"];

/// The roles in the order of the table's columns.
pub const ROLES: [Role; 7] = [
    Role::Admin,
    Role::Hq,
    Role::DistrictManager,
    Role::StationManager,
    Role::Cashier,
    Role::FleetManager,
    Role::Merchant,
];

use Scope::{All, Company, CompanyPin, District, Merchant, Never, Station};

/// One row, roles in the order of [`ROLES`].
const fn rule(action: Action, operations: &'static [&'static str], s: [Scope; 7]) -> Rule {
    Rule {
        action,
        operations,
        admin: s[0],
        hq: s[1],
        district_manager: s[2],
        station_manager: s[3],
        cashier: s[4],
        fleet_manager: s[5],
        merchant: s[6],
    }
}

/// The policy. Counter work on cards is network-wide (a card works at every
/// station) but happens at the actor's own counter; a station's business
/// (holds, fills, shifts, reports, prospects, targets) stays with its
/// station and its district; a company's fleet is its own, read by HQ;
/// personal data is shown only to HQ and the company's own manager. HQ sets
/// targets and reads everything, but develops no prospects itself. A
/// station's counter records complaints and its manager (or the
/// district's) takes them to closure; head office receives them too (the
/// hotline, letters: naming the station) and its senior managers take any
/// complaint on in person. A
/// merchant reads its own offers and settlements and redeems its own
/// benefits; a station's counter may hand over a gift. Credit is head
/// office's: it sets lines, books payments and chases statements; a
/// company's fleet manager reads its own statements and opens its own
/// credit cards.
pub const POLICY: &[Rule] = &[
    //    admin  hq     district  station  cashier  fleet  merchant
    rule(
        Action::UseSession,
        &["me", "change_password"],
        [All, All, All, All, All, All, All],
    ),
    rule(
        Action::ManageUsers,
        &["add_user", "list_users", "deactivate_user"],
        [All, Never, Never, Never, Never, Never, Never],
    ),
    rule(
        Action::ResetPasswords,
        &["reset_password"],
        [All, Never, Never, Never, Never, Never, Never],
    ),
    rule(
        Action::ManageStations,
        &["add_station"],
        [All, All, Never, Never, Never, Never, Never],
    ),
    rule(
        Action::ReadReferenceData,
        &[
            "list_stations",
            "list_districts",
            "list_products",
            "list_merchants",
        ],
        [All, All, All, All, All, All, Never],
    ),
    rule(
        Action::ReadDayReport,
        &["day_report"],
        [All, All, District, Station, Station, Never, Never],
    ),
    rule(
        Action::ManagePricing,
        &["set_price", "add_promotion"],
        [All, All, Never, Never, Never, Never, Never],
    ),
    rule(
        Action::ReadPromotions,
        &["list_promotions"],
        [All, All, Never, All, All, Never, Never],
    ),
    rule(
        Action::Audit,
        &["audit_log", "check"],
        [All, Never, Never, Never, Never, Never, Never],
    ),
    rule(
        Action::AddCustomer,
        &["add_customer"],
        [All, Never, Never, All, All, Never, Never],
    ),
    rule(
        Action::ReadPersonalData,
        &["get_customer"],
        [All, All, Never, Never, Never, Company, Never],
    ),
    rule(
        Action::OpenCard,
        &["open_card"],
        [All, Never, Never, All, All, Never, Never],
    ),
    rule(
        Action::ReadCard,
        &["get_card", "search", "statement", "card_benefits"],
        [All, All, District, All, All, Company, Never],
    ),
    rule(
        Action::Recharge,
        &["recharge", "recharge_preview"],
        [All, Never, Never, All, All, Never, Never],
    ),
    rule(
        Action::ReportLoss,
        &["loss_report"],
        [All, Never, Never, All, All, Never, Never],
    ),
    rule(
        Action::ChangeCardLife,
        &["unlock", "replacement", "conversion", "closure"],
        [All, Never, Never, All, All, Never, Never],
    ),
    rule(
        Action::CloseCompanyAccount,
        &[],
        [All, All, Never, Never, Never, Company, Never],
    ),
    rule(
        Action::UnlockIdentity,
        &["identity_unlock"],
        [All, All, Never, Never, Never, Never, Never],
    ),
    rule(
        Action::Sell,
        &["sell", "place_hold"],
        [All, Never, Never, All, All, Never, Never],
    ),
    rule(
        Action::MoveCompanyFunds,
        &["transfer"],
        [
            CompanyPin, Never, Never, CompanyPin, CompanyPin, Company, Never,
        ],
    ),
    rule(
        Action::ReadReceipt,
        &[],
        [All, Never, Never, Station, Station, Never, Never],
    ),
    rule(
        Action::SettleHold,
        &["get_hold", "capture_hold", "void_hold"],
        [All, Never, Never, Station, Station, Never, Never],
    ),
    rule(
        Action::WorkShift,
        &["open_shift", "current_shift"],
        [All, Never, Never, All, All, Never, Never],
    ),
    rule(
        Action::CloseShift,
        &["close_shift"],
        [All, Never, Never, Station, Station, Never, Never],
    ),
    rule(
        Action::WorkChip,
        &["read_card", "personalise", "load", "start_fill"],
        [All, Never, Never, All, All, Never, Never],
    ),
    rule(
        Action::FinishFill,
        &["finish_fill"],
        [All, Never, Never, Station, Station, Never, Never],
    ),
    rule(
        Action::UploadPumpRecords,
        &["upload_purchase"],
        [All, Never, Never, Station, Station, Never, Never],
    ),
    rule(
        Action::ManageTerminals,
        &["register_terminal"],
        [All, All, Never, Never, Never, Never, Never],
    ),
    rule(
        Action::ReadFleet,
        &[
            "list_vehicles",
            "export_vehicles",
            "get_policy",
            "get_plan",
            "monthly_review",
            "monthly_review_csv",
            "get_loan",
        ],
        [All, All, Never, Never, Never, Company, Never],
    ),
    rule(
        Action::DecideFleet,
        &[
            "add_vehicle",
            "update_vehicle",
            "retire_vehicle",
            "import_vehicles",
            "put_policy",
            "draft_plan",
            "edit_line",
            "approve_plan",
            "acknowledge",
            "request_topup",
            "decide_topup",
            "request_loan",
            "loan_step",
            "record_cash",
        ],
        [All, Never, Never, Never, Never, Company, Never],
    ),
    rule(
        Action::GrantOverride,
        &["grant_override"],
        [Never, Never, Never, Never, Never, Company, Never],
    ),
    rule(
        Action::RegisterVehicle,
        &[],
        [All, Never, Never, CompanyPin, CompanyPin, Never, Never],
    ),
    rule(
        Action::ManageDistricts,
        &["add_district"],
        [All, All, Never, Never, Never, Never, Never],
    ),
    rule(
        Action::WorkProspects,
        &[
            "add_prospect",
            "prospect_stage",
            "add_visit",
            "import_prospects",
            "win_prospect",
            "add_flyers",
        ],
        [All, Never, District, Station, Never, Never, Never],
    ),
    rule(
        Action::NoteLead,
        &["note_lead"],
        [All, Never, Never, Station, Station, Never, Never],
    ),
    rule(
        Action::ReadProspects,
        &["list_prospects", "get_prospect"],
        [All, All, District, Station, Never, Never, Never],
    ),
    rule(
        Action::SetTargets,
        &["put_targets"],
        [All, All, District, Never, Never, Never, Never],
    ),
    rule(
        Action::ReadTargets,
        &["get_targets", "acquisition_channels"],
        [All, All, District, Station, Never, Never, Never],
    ),
    rule(
        Action::ReadLeaderboard,
        &["leaderboard", "wins"],
        [All, All, All, All, All, Never, Never],
    ),
    rule(
        Action::ReadWeeklyReport,
        &["weekly_report"],
        [All, All, District, Never, Never, Never, Never],
    ),
    rule(
        Action::SubmitWeeklyReport,
        &["submit_weekly_report"],
        [All, Never, District, Never, Never, Never, Never],
    ),
    rule(
        Action::RecordComplaint,
        &["add_complaint"],
        [All, All, District, Station, Station, Never, Never],
    ),
    rule(
        Action::WorkComplaints,
        &[
            "assign_complaint",
            "answer_complaint",
            "follow_up_complaint",
            "close_complaint",
        ],
        [All, All, District, Station, Never, Never, Never],
    ),
    rule(
        Action::ReadComplaints,
        &["list_complaints", "get_complaint", "complaint_counts"],
        [All, All, District, Station, Station, Never, Never],
    ),
    rule(
        Action::ReadCallbacks,
        &["callbacks"],
        [All, All, District, Station, Station, Never, Never],
    ),
    rule(
        Action::CallCustomers,
        &["record_call", "log_contact"],
        [All, Never, District, Station, Station, Never, Never],
    ),
    rule(
        Action::ReadCare,
        &["care_customers", "visit_plan", "birthdays"],
        [All, All, District, Station, Station, Never, Never],
    ),
    rule(
        Action::PlanVisits,
        &["plan_visit", "cancel_visit"],
        [All, Never, District, Station, Never, Never, Never],
    ),
    rule(
        Action::ManageAlliance,
        &["add_merchant", "add_offer", "end_offer", "settle_merchant"],
        [All, All, Never, Never, Never, Never, Never],
    ),
    rule(
        Action::ReadAlliance,
        &[
            "get_merchant",
            "list_offers",
            "get_offer",
            "offer_effectiveness",
            "merchant_effectiveness",
        ],
        [All, All, All, All, All, Never, Merchant],
    ),
    rule(
        Action::Redeem,
        &["redeem", "find_benefits", "list_redemptions"],
        [All, Never, Never, All, All, Never, Merchant],
    ),
    rule(
        Action::ReverseRedemption,
        &["reverse_redemption"],
        [All, All, Never, Station, Station, Never, Merchant],
    ),
    rule(
        Action::ExportGrantees,
        &["grantees_csv"],
        [All, All, Never, Never, Never, Never, Merchant],
    ),
    rule(
        Action::ReadSettlement,
        &["get_settlement", "settlement_csv"],
        [All, All, Never, Never, Never, Never, Merchant],
    ),
    rule(
        Action::SetCreditLine,
        &["put_credit_line"],
        [All, All, Never, Never, Never, Never, Never],
    ),
    rule(
        Action::OpenCreditCard,
        &[],
        [All, All, Never, Never, Never, Company, Never],
    ),
    rule(
        Action::ReadCredit,
        &[
            "get_credit_line",
            "credit_statement",
            "credit_statement_csv",
        ],
        [All, All, Never, Never, Never, Company, Never],
    ),
    rule(
        Action::BookCreditPayment,
        &["book_payment"],
        [All, All, Never, Never, Never, Never, Never],
    ),
    rule(
        Action::ReadCreditReminders,
        &["credit_reminders"],
        [All, All, Never, Never, Never, Never, Never],
    ),
    rule(
        Action::ReadCustomerArchive,
        &["customer_timeline", "customer_care"],
        [All, All, District, All, All, Company, Never],
    ),
    rule(
        Action::EditCustomerArchive,
        &["add_contact", "change_archive"],
        [All, All, Never, All, All, Never, Never],
    ),
    rule(
        Action::MergeCustomers,
        &["merge_customers"],
        [All, All, Never, Never, Never, Never, Never],
    ),
];

/// What an action without a row would be allowed: nothing. (Every action
/// has a row; a unit test holds it. Should one be missed, it fails closed.)
const NOBODY: Rule = rule(Action::UseSession, &[], [Never; 7]);

/// The row of an action.
pub fn rule_of(action: Action) -> &'static Rule {
    POLICY
        .iter()
        .find(|r| r.action == action)
        .unwrap_or(&NOBODY)
}

/// The row whose action an API operation performs.
pub fn rule_of_operation(operation_id: &str) -> Option<&'static Rule> {
    POLICY.iter().find(|r| r.operations.contains(&operation_id))
}

/// What a piece of business belongs to: the station it happens at (and
/// that station's district), the company whose it is, the merchant's. A
/// field left empty belongs to nobody in that scope, so a scoped role is
/// refused it.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub station: Option<i64>,
    pub district: Option<String>,
    pub company: Option<i64>,
    pub merchant: Option<String>,
    /// The company's main card PIN was offered with the request (checked
    /// by the card room before any money moves).
    pub company_pin: bool,
}

impl Target {
    /// Business of the whole network (reference data, one's own session).
    pub fn network() -> Target {
        Target::default()
    }

    pub fn station(id: i64, district: &str) -> Target {
        Target {
            station: Some(id),
            district: Some(district.to_owned()),
            ..Target::default()
        }
    }

    /// Business of a whole district (its tracking table, its prospects).
    pub fn district(code: &str) -> Target {
        Target {
            district: Some(code.to_owned()),
            ..Target::default()
        }
    }

    /// Business of one station where the district does not matter: only
    /// station staff are scoped to it.
    pub fn at_station(id: i64) -> Target {
        Target::at(Some(id))
    }

    /// Business of the station it names, if any; business of no station
    /// is outside every station's scope.
    pub fn at(station: Option<i64>) -> Target {
        Target {
            station,
            ..Target::default()
        }
    }

    pub fn company(id: i64) -> Target {
        Target::company_opt(Some(id))
    }

    /// Business of a customer, when it has one (a card's holder).
    pub fn company_opt(company: Option<i64>) -> Target {
        Target {
            company,
            ..Target::default()
        }
    }
}

/// Whether the actor's role may perform the action on some business at all.
pub fn may(actor: &Actor, action: Action) -> bool {
    rule_of(action).scope(actor.role) != Never
}

/// Refuses a role that may not perform the action on anybody's business,
/// before the target is looked up; [`authorize`] then checks the target.
pub fn authorize_role(actor: &Actor, action: Action) -> AppResult<()> {
    if may(actor, action) {
        Ok(())
    } else {
        Err(AppError::new(Code::Forbidden, "your role may not do this"))
    }
}

/// Whether the actor may perform the action on this target.
pub fn permits(actor: &Actor, action: Action, target: &Target) -> bool {
    authorize(actor, action, target).is_ok()
}

/// Refuses the action unless the policy gives the actor's role a scope that
/// holds the target. The refusal names what was wrong: the role, the
/// station, the company, or the company's missing word.
pub fn authorize(actor: &Actor, action: Action, target: &Target) -> AppResult<()> {
    let scope = rule_of(action).scope(actor.role);
    let held = match scope {
        Never => false,
        All => true,
        Station => actor.station_id.is_some() && target.station == actor.station_id,
        District => actor.district.is_some() && target.district == actor.district,
        Company => actor.company_id.is_some() && target.company == actor.company_id,
        Scope::Merchant => actor.merchant.is_some() && target.merchant == actor.merchant,
        CompanyPin => target.company_pin,
    };
    if held {
        return Ok(());
    }
    Err(match scope {
        Never => AppError::new(Code::Forbidden, "your role may not do this"),
        Station => AppError::new(
            Code::OutsideYourStation,
            "this belongs to another station's counter",
        ),
        District => AppError::new(Code::Forbidden, "this station is outside your district"),
        // The same answer whether the other company exists or not, so
        // that company ids cannot be probed.
        Company => AppError::new(Code::NotYourCompany, "this belongs to another company"),
        CompanyPin => AppError::new(
            Code::CompanyConsentRequired,
            "a company's money moves only with its main card's PIN, or on the decision of the \
             company's fleet manager",
        ),
        Scope::Merchant => AppError::new(Code::Forbidden, "this is another merchant's business"),
        All => AppError::new(Code::Forbidden, "your role may not do this"),
    })
}

/// The codes the policy can answer for an operation's action: listed among
/// the operation's refusals in the OpenAPI document.
pub fn refusals(operation_id: &str) -> Vec<Code> {
    let Some(rule) = rule_of_operation(operation_id) else {
        return Vec::new();
    };
    let mut codes = Vec::new();
    for role in ROLES {
        let code = match rule.scope(role) {
            All => continue,
            Never | District | Scope::Merchant => Code::Forbidden,
            Station => Code::OutsideYourStation,
            Company => Code::NotYourCompany,
            CompanyPin => Code::CompanyConsentRequired,
        };
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// The policy as a Markdown table, as the README shows it.
pub fn markdown() -> String {
    let mut out = String::from(
        "| action | API operations | admin | hq | district manager | station manager | cashier | fleet manager | merchant |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for rule in POLICY {
        let ops: Vec<String> = rule.operations.iter().map(|o| format!("`{o}`")).collect();
        let scopes: Vec<&str> = ROLES.iter().map(|r| rule.scope(*r).label()).collect();
        out.push_str(&format!(
            "| {:?} | {} | {} |\n",
            rule.action,
            ops.join(", "),
            scopes.join(" | ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, station: Option<i64>, company: Option<i64>) -> Actor {
        Actor {
            user_id: 1,
            username: "u".into(),
            role,
            station_id: station,
            company_id: company,
            merchant: None,
            district: Some("north".into()),
            address: None,
        }
    }

    #[test]
    fn every_action_has_one_row_and_every_operation_one_action() {
        for (i, rule) in POLICY.iter().enumerate() {
            assert!(
                POLICY[i + 1..].iter().all(|r| r.action != rule.action),
                "{:?} has two rows",
                rule.action
            );
            for op in rule.operations {
                let rows = POLICY.iter().filter(|r| r.operations.contains(op)).count();
                assert_eq!(rows, 1, "{op} is in {rows} rows");
                assert!(!PUBLIC_OPERATIONS.contains(op), "{op} is also public");
            }
        }
    }

    #[test]
    fn scopes_hold_only_their_own_business() {
        let cashier = actor(Role::Cashier, Some(1), None);
        assert!(permits(
            &cashier,
            Action::SettleHold,
            &Target::at_station(1)
        ));
        let err = authorize(&cashier, Action::SettleHold, &Target::at_station(2)).unwrap_err();
        assert_eq!(err.code, Code::OutsideYourStation);
        assert_eq!(
            authorize(&cashier, Action::ReadFleet, &Target::company(7))
                .unwrap_err()
                .code,
            Code::Forbidden
        );
        let manager = actor(Role::FleetManager, None, Some(7));
        assert!(permits(&manager, Action::DecideFleet, &Target::company(7)));
        assert_eq!(
            authorize(&manager, Action::DecideFleet, &Target::company(8))
                .unwrap_err()
                .code,
            Code::NotYourCompany
        );
        let district = actor(Role::DistrictManager, None, None);
        assert!(permits(
            &district,
            Action::ReadDayReport,
            &Target::station(3, "north")
        ));
        assert!(!permits(
            &district,
            Action::ReadDayReport,
            &Target::station(3, "south")
        ));
        let counter = Target {
            company: Some(7),
            ..Target::default()
        };
        assert_eq!(
            authorize(&cashier, Action::MoveCompanyFunds, &counter)
                .unwrap_err()
                .code,
            Code::CompanyConsentRequired
        );
        let with_pin = Target {
            company_pin: true,
            ..counter
        };
        assert!(permits(&cashier, Action::MoveCompanyFunds, &with_pin));
    }

    #[test]
    fn a_station_staff_member_without_a_station_holds_no_station() {
        let cashier = actor(Role::Cashier, None, None);
        assert!(!permits(&cashier, Action::SettleHold, &Target::network()));
    }

    #[test]
    fn the_readme_shows_this_policy() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .unwrap_or_default();
        assert!(
            readme.contains(&markdown()),
            "the README's policy table differs from the policy; paste `fuelcard policy`:\n{}",
            markdown()
        );
    }
}
