//! Whole-system tests, one binary, a module per concern.

mod app_e2e;
mod app_session;
mod attachments;
mod demo;
mod desk_e2e;
mod enrolment;
mod intake;
mod notifications;
mod orders;
mod paperwork;
mod postgres;
mod prevention;
mod reminders;
mod supervision;
mod sync;
mod sync_admin;
mod sync_crash;
mod sync_errors;
mod sync_tls;
mod tier;
mod trust;
mod untrusted;
