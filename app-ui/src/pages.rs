//! One module per screen of the app; the shell ([`crate::app`]) routes to them. Each page loads
//! its screen type from the bridge, renders it, and sends its forms; the logic worth testing
//! lives in the pure modules beside them ([`crate::forms`], [`crate::actions`],
//! [`crate::charts`], [`crate::sync_line`]).

pub mod alerts;
pub mod case;
pub mod cases;
pub mod enrol;
pub mod figures;
pub mod household;
pub mod households;
pub mod ledger;
pub mod matter;
pub mod photos;
pub mod report;
pub mod roster;
pub mod sync;
pub mod today;
