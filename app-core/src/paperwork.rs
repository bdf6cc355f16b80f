//! The centre's paperwork (台账与报表): the ledger of a unit for a period, and the figures it
//! reports, as data ([`ledger`]) and as an XLSX workbook ([`xlsx`]).
//!
//! The model is pure: summaries and the parties' index in, rows and sheets out. The server
//! (`sync-server ledger`, `GET /v1/ledger.xlsx`) and the desk app call the same code over the
//! same store, so a spreadsheet shows the figures `/v1/figures` and the figures screen show.
//!
//! Parties' resident ID numbers are personal data of the most sensitive kind: an export shows
//! them masked (`110105********002X`) unless [`IdDisclosure::for_roles`] says the reader may
//! see them whole.

pub mod agreement;
pub mod ledger;
pub mod pdf;
pub mod report;
pub mod width;
pub mod xlsx;

use crate::deadline::LocalTime;
use crate::error::{Error, Result};
use crate::org::Role;
use chrono::NaiveDate;

/// How parties' resident ID numbers appear in an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdDisclosure {
    /// The region code and the last four characters (`110105********002X`).
    Masked,
    /// The whole number.
    Full,
}

impl IdDisclosure {
    /// Whole numbers for the centre's leader (综治中心主任, who signs off cases and answers for
    /// the centre's files); masked for everyone else, staff included: a spreadsheet leaves the
    /// system, and a ledger needs the person, not their birth date.
    pub fn for_roles<'a>(roles: impl IntoIterator<Item = &'a Role>) -> IdDisclosure {
        if roles.into_iter().any(|r| *r == Role::CentreLeader) {
            IdDisclosure::Full
        } else {
            IdDisclosure::Masked
        }
    }

    /// For a document of one case the parties sign (an agreement, an application to the court):
    /// the whole number for those who prepare it (centre staff and leaders, mediators), since
    /// it identifies the parties in law; masked for anyone else.
    pub fn for_document<'a>(roles: impl IntoIterator<Item = &'a Role>) -> IdDisclosure {
        if roles
            .into_iter()
            .any(|r| r.is_centre() || *r == Role::Mediator)
        {
            IdDisclosure::Full
        } else {
            IdDisclosure::Masked
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            IdDisclosure::Masked => "身份证号已脱敏",
            IdDisclosure::Full => "身份证号完整",
        }
    }
}

/// A period of whole local days, `first` to `last` inclusive: cases reported from `first`'s
/// midnight up to the midnight after `last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub first: NaiveDate,
    pub last: NaiveDate,
    /// `[from, to)` in UTC milliseconds.
    pub from: i64,
    pub to: i64,
}

/// The longest period an export may cover (ten years).
pub const MAX_PERIOD_DAYS: i64 = 3_660;

impl Period {
    /// The days `first` to `last` in local time `local`. Refuses a period that ends before it
    /// starts, or longer than [`MAX_PERIOD_DAYS`].
    pub fn days(local: LocalTime, first: NaiveDate, last: NaiveDate) -> Result<Period> {
        if last < first {
            return Err(Error::Invalid {
                field: "period".into(),
                problem: format!("the period ends ({last}) before it starts ({first})"),
            });
        }
        let days = (last - first).num_days() + 1;
        if days > MAX_PERIOD_DAYS {
            return Err(Error::Invalid {
                field: "period".into(),
                problem: format!(
                    "the period is {days} days long; at most {MAX_PERIOD_DAYS} days at a time"
                ),
            });
        }
        let after = last.succ_opt().ok_or_else(|| Error::Invalid {
            field: "period".into(),
            problem: format!("{last} is past the last date there is"),
        })?;
        Ok(Period {
            first,
            last,
            from: local.midnight(first),
            to: local.midnight(after),
        })
    }

    /// Reads `YYYY-MM-DD` dates (the form an address or a command line gives).
    pub fn parse(local: LocalTime, first: &str, last: &str) -> Result<Period> {
        let date = |field: &str, s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| Error::Invalid {
                field: field.into(),
                problem: format!("`{s}` is not a date of the form 2026-11-30"),
            })
        };
        Period::days(local, date("from", first)?, date("to", last)?)
    }

    /// "2026年11月1日至2026年11月30日".
    pub fn zh(&self) -> String {
        format!(
            "{}至{}",
            self.first.format("%Y年%-m月%-d日"),
            self.last.format("%Y年%-m月%-d日")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_whole_local_days_and_never_ends_before_it_starts() {
        let p = Period::parse(LocalTime::CHINA, "2026-11-01", "2026-11-30").unwrap();
        // 2026-11-01 00:00 +08:00 is 2026-10-31 16:00 UTC.
        assert_eq!(p.from, 1_761_926_400_000 + 365 * 86_400_000);
        assert_eq!(p.to - p.from, 30 * 86_400_000);
        assert_eq!(p.zh(), "2026年11月1日至2026年11月30日");
        let one = Period::parse(LocalTime::CHINA, "2026-11-05", "2026-11-05").unwrap();
        assert_eq!(one.to - one.from, 86_400_000);

        let e = Period::parse(LocalTime::CHINA, "2026-11-30", "2026-11-01").unwrap_err();
        assert!(
            e.to_string().contains("ends (2026-11-01) before it starts"),
            "{e}"
        );
        let e = Period::parse(LocalTime::CHINA, "2026-11-31", "2026-12-01").unwrap_err();
        assert!(e.to_string().contains("`2026-11-31` is not a date"), "{e}");
        let e = Period::parse(LocalTime::CHINA, "2000-01-01", "2026-12-01").unwrap_err();
        assert!(e.to_string().contains("at most 3660 days"), "{e}");
    }

    #[test]
    fn only_the_leader_sees_whole_id_numbers() {
        assert_eq!(
            IdDisclosure::for_roles(&[Role::CentreStaff, Role::CentreLeader]),
            IdDisclosure::Full
        );
        for r in [Role::CentreStaff, Role::GridWorker, Role::Mediator] {
            assert_eq!(IdDisclosure::for_roles(&[r]), IdDisclosure::Masked);
        }
    }
}

#[cfg(test)]
mod agreement_tests;
#[cfg(test)]
mod ledger_tests;
#[cfg(test)]
mod report_tests;
#[cfg(test)]
mod test_store;
