//! Users, roles and scopes, passwords and sessions.

pub mod sessions;
pub mod users;

use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult, Code};

/// The roles DESIGN.md lists. Scoped roles carry their scope on [`Actor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Hq,
    DistrictManager,
    StationManager,
    Cashier,
    FleetManager,
    Merchant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Hq => "hq",
            Role::DistrictManager => "district_manager",
            Role::StationManager => "station_manager",
            Role::Cashier => "cashier",
            Role::FleetManager => "fleet_manager",
            Role::Merchant => "merchant",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Some(match text {
            "admin" => Role::Admin,
            "hq" => Role::Hq,
            "district_manager" => Role::DistrictManager,
            "station_manager" => Role::StationManager,
            "cashier" => Role::Cashier,
            "fleet_manager" => Role::FleetManager,
            "merchant" => Role::Merchant,
            _ => return None,
        })
    }
}

/// Who is making a request, with the scope their role is limited to.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub station_id: Option<i64>,
    pub company_id: Option<i64>,
    pub merchant: Option<String>,
    pub district: Option<String>,
}

impl Actor {
    /// May run the counter: open cards, recharge, sell, handle lost cards.
    pub fn can_work_counter(&self) -> bool {
        matches!(
            self.role,
            Role::Admin | Role::StationManager | Role::Cashier
        )
    }

    /// Refuses station staff (cashiers, station managers) acting on another
    /// station's business — its holds, fills, shifts and receipts — given
    /// the station it belongs to. The other roles that may touch such
    /// business at all (the admin) act network-wide.
    pub fn ensure_station(&self, station_id: Option<i64>) -> AppResult<()> {
        let station_staff = matches!(self.role, Role::Cashier | Role::StationManager);
        if station_staff && (self.station_id.is_none() || station_id != self.station_id) {
            return Err(AppError::new(
                Code::OutsideYourStation,
                "this belongs to another station's counter",
            ));
        }
        Ok(())
    }

    /// May read a company's fleet data — vehicles, policy, plans, reviews,
    /// loans: its own fleet manager, HQ and the admin. Nobody at a station
    /// reads it; to them, and to another company's manager, the company is
    /// not found.
    pub fn ensure_reads_fleet(&self, company: i64) -> AppResult<()> {
        match self.role {
            Role::Admin | Role::Hq => Ok(()),
            _ => self.ensure_decides_fleet(company),
        }
    }

    /// May decide for a company's fleet — register vehicles, set its
    /// policy, draft, edit and approve plans, top-ups, loans, anomalies:
    /// its own fleet manager and the admin. HQ reads but does not decide.
    pub fn ensure_decides_fleet(&self, company: i64) -> AppResult<()> {
        match self.role {
            Role::Admin => Ok(()),
            Role::FleetManager if self.company_id == Some(company) => Ok(()),
            Role::Hq => Err(AppError::new(
                Code::Forbidden,
                "HQ reads a company's fleet data; its fleet manager decides",
            )),
            _ => Err(AppError::new(
                Code::CustomerNotFound,
                format!("no company {company}"),
            )),
        }
    }

    /// May let one sale of a vehicle past the company's own controls: only
    /// the company's fleet manager, whose controls they are.
    pub fn ensure_overrides_fleet(&self, company: i64) -> AppResult<()> {
        match self.role {
            Role::FleetManager => self.ensure_decides_fleet(company),
            _ => Err(AppError::new(
                Code::Forbidden,
                "only the company's fleet manager lets a sale past its controls",
            )),
        }
    }

    /// May see a customer's personal data (phone, ID document number): the
    /// admin and HQ, and a fleet manager their own company's. Everyone else
    /// is shown the last four characters ([`crate::cards::customers::mask`]).
    pub fn sees_personal_data(&self, customer_id: Option<i64>) -> bool {
        match self.role {
            Role::Admin | Role::Hq => true,
            Role::FleetManager => customer_id.is_some() && self.company_id == customer_id,
            _ => false,
        }
    }

    /// May set prices and promotions.
    pub fn can_manage_pricing(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Hq)
    }

    /// May read any card: a card works at every station, so every counter
    /// reads it. A fleet manager reads only their company's cards and a
    /// district manager only those issued in their district; both are
    /// checked against the card.
    pub fn can_read_all_cards(&self) -> bool {
        matches!(
            self.role,
            Role::Admin | Role::Hq | Role::StationManager | Role::Cashier
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn role_names_round_trip() {
        for role in [
            Role::Admin,
            Role::Hq,
            Role::DistrictManager,
            Role::StationManager,
            Role::Cashier,
            Role::FleetManager,
            Role::Merchant,
        ] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
