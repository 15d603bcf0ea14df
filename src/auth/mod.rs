//! Users, roles and scopes, passwords and sessions.

pub mod policy;
pub mod sessions;
pub mod throttle;
pub mod users;

use serde::{Deserialize, Serialize};

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
    /// Where the request came from (the peer's address), for the guessing
    /// limits; none for the console and for servers that do not say.
    #[serde(skip)]
    pub address: Option<std::net::IpAddr>,
}

impl Actor {
    /// The operator at the server's console (`fuelcard user add`): whoever
    /// may run the binary against the database administers it. The policy
    /// sees an admin; the audit log names no user.
    pub fn console() -> Actor {
        Actor {
            user_id: CONSOLE_USER,
            username: "console".into(),
            role: Role::Admin,
            station_id: None,
            company_id: None,
            merchant: None,
            district: None,
            address: None,
        }
    }

    /// The user an audit record names: none for the console.
    pub fn audit_id(&self) -> Option<i64> {
        (self.user_id != CONSOLE_USER).then_some(self.user_id)
    }

    /// Records in the audit log, in the caller's transaction, that this
    /// actor did `action` to `subject` at `now`.
    pub async fn audit(
        &self,
        conn: &mut crate::db::Conn,
        now: i64,
        action: &str,
        subject: &str,
        detail: serde_json::Value,
    ) -> crate::error::AppResult<()> {
        crate::audit::record(conn, now, self.audit_id(), action, subject, detail).await
    }
}

/// No user row has id 0: ids start at 1 on both backends.
const CONSOLE_USER: i64 = 0;

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn role_names_round_trip() {
        for role in super::policy::ROLES {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
