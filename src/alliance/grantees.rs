//! The lists a partner must act on: an insurer registers a policy for each
//! grantee of its voucher, so it needs their name, ID document, phone and
//! voucher code. Only grants made with the customer's consent to share
//! their data with partners are listed (`benefits.consent`: set at the
//! grant when the customer had consented, set later when they consent with
//! their evidence, cleared at once when they withdraw) — never on today's
//! flag alone, which would list grants made before anyone consented. Void
//! grants are not listed. The action that exports a list records who took
//! it and how many rows it held.

use chrono_tz::Tz;
use sqlx::Row;

use super::offers::Stored;
use super::vouchers;
use crate::db::Conn;
use crate::error::AppResult;

/// The grants of an offer made with consent, as CSV, and how many there are.
pub async fn csv(conn: &mut Conn, offer: &Stored, tz: Tz) -> AppResult<(String, usize)> {
    let rows = sqlx::query(
        "SELECT cu.name, cu.id_kind, cu.id_number, cu.phone, b.voucher_code, s.code AS station, \
           b.granted_at \
         FROM benefits b JOIN customers cu ON cu.id = b.customer_id \
           LEFT JOIN stations s ON s.id = b.station_id \
         WHERE b.offer_id = $1 AND b.consent = 1 AND b.status <> 'void' ORDER BY b.id",
    )
    .bind(offer.id)
    .fetch_all(&mut *conn)
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for r in &rows {
        let code: String = r.try_get("voucher_code")?;
        lines.push(vec![
            r.try_get::<String, _>("name")?,
            r.try_get::<Option<String>, _>("id_kind")?
                .unwrap_or_default(),
            r.try_get::<Option<String>, _>("id_number")?
                .unwrap_or_default(),
            r.try_get::<Option<String>, _>("phone")?.unwrap_or_default(),
            vouchers::printed(&code),
            r.try_get::<Option<String>, _>("station")?
                .unwrap_or_default(),
            crate::time::local_date(r.try_get("granted_at")?, tz).to_string(),
        ]);
    }
    let n = lines.len();
    let text = crate::csv_io::table(
        &[
            "name",
            "id_kind",
            "id_number",
            "phone",
            "voucher_code",
            "station",
            "granted_on",
        ],
        lines.into_iter(),
    )?;
    Ok((text, n))
}
