//! Enrolment: a device exchanges a one-time code for its credential, and learns who it works
//! for (the person and their roles, or for a child server the unit it serves) and which centre
//! this server is. The code's checks and the credential's storage are [`crate::db`]'s; the
//! rate limits before the body is read are [`crate::admission::EnrolGate`]'s.

use crate::db::ServerDb;
use crate::error::ApiError;
use crate::terminal::escape;
use app_core::ids::UnitId;
use app_core::protocol::{EnrolRequest, EnrolResponse};

/// Enrols a device with `req`'s code, on a server of `served`.
pub fn enrol(
    db: &mut ServerDb,
    served: &UnitId,
    req: &EnrolRequest,
    now_ms: i64,
) -> Result<EnrolResponse, ApiError> {
    let (device, token, person) = db.enrol(&req.code, &req.device_name, &req.actor, now_ms)?;
    let name = escape(req.device_name.trim());
    let directory = db.store.directory();
    let server_unit = directory
        .unit(served)
        .map(|u| (u.id.clone(), u.tier))
        .ok_or_else(|| ApiError::internal("the served unit is not in the directory"))?;
    tracing::info!(device = %device, person = %escape(person.as_str()), name = %name, "device enrolled");
    let (name, roles) = match crate::db::server_unit(&person) {
        Some(unit) => (
            directory
                .unit(&unit)
                .map(|u| u.name.clone())
                .unwrap_or_else(|| unit.to_string()),
            Vec::new(),
        ),
        None => {
            let p = directory
                .person(&person)
                .ok_or_else(|| ApiError::internal("enrolled person missing"))?;
            (
                p.name.clone(),
                p.roles.iter().map(|r| (*r, p.unit.clone())).collect(),
            )
        }
    };
    Ok(EnrolResponse {
        device,
        token,
        person: person.clone(),
        name,
        roles,
        server_unit: server_unit.0,
        server_tier: server_unit.1,
    })
}
