//! Deadlines (限时办结): simple disputes within 3 days, complex ones within 7, configurable per
//! unit. Pure: the current time is always an argument, so a phone with no network and the server
//! compute the same answer.
//!
//! Counting follows the usual rule for periods in Chinese procedure: the day the case was received
//! is not counted; a period of N days ends at the end of the Nth day after it (local time, China
//! Standard Time by default); if that day is a public holiday, the period runs to the end of the
//! next working day. A unit may count working days instead (skipping weekends and holidays, but
//! counting the make-up working days of 调休).

use crate::model::Difficulty;
use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Weekday,
};
use serde::{Deserialize, Serialize};

/// The longest deadline, in days, a centre may give when assigning a case down (交办).
pub const MAX_ASSIGN_DOWN_DAYS: u32 = 90;
/// The deadline offered when assigning a case down (the general limit of 限时办结).
pub const DEFAULT_ASSIGN_DOWN_DAYS: u32 = 7;
/// The furthest a supervision (督办) may set a case's new deadline, in calendar days after the
/// day it is issued.
pub const MAX_SUPERVISE_DAYS: u32 = 90;

/// Local time at a fixed offset from UTC: the one place where a UTC millisecond becomes a local
/// date and a local day's midnight becomes a UTC millisecond (deadlines, today's visits, the
/// figures' months, the dates the interface shows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    offset: FixedOffset,
}

impl LocalTime {
    /// China Standard Time, UTC+8.
    pub const CHINA: LocalTime = LocalTime {
        offset: match FixedOffset::east_opt(8 * 3600) {
            Some(o) => o,
            None => panic!("+08:00 is a valid offset"),
        },
    };

    /// Local time `minutes` east of UTC; China Standard Time if that is no offset.
    pub fn at_offset(minutes: i32) -> LocalTime {
        FixedOffset::east_opt(minutes.saturating_mul(60))
            .map(|offset| LocalTime { offset })
            .unwrap_or(LocalTime::CHINA)
    }

    /// The local date and time of a UTC millisecond timestamp.
    pub fn datetime(self, at_ms: i64) -> NaiveDateTime {
        self.offset
            .timestamp_millis_opt(at_ms)
            .single()
            .map(|t| t.naive_local())
            .unwrap_or_default()
    }

    /// The local calendar date of a UTC millisecond timestamp.
    pub fn date(self, at_ms: i64) -> NaiveDate {
        self.datetime(at_ms).date()
    }

    /// The local midnight starting `day`, in UTC milliseconds.
    pub fn midnight(self, day: NaiveDate) -> i64 {
        let naive = day.and_hms_opt(0, 0, 0).expect("midnight exists");
        let local: DateTime<FixedOffset> = self
            .offset
            .from_local_datetime(&naive)
            .single()
            .expect("a fixed offset has no gaps");
        local.timestamp_millis()
    }

    /// The local midnight starting the day of `at_ms`.
    pub fn start_of_day(self, at_ms: i64) -> i64 {
        self.midnight(self.date(at_ms))
    }
}

/// How days are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum DayCounting {
    /// 自然日: every day counts.
    #[default]
    Calendar,
    /// 工作日: weekends and holidays are skipped; make-up working days count.
    WorkingDays,
}

/// A unit's time limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlinePolicy {
    /// Days allowed for a simple (简单) dispute.
    pub simple_days: u32,
    /// Days allowed for a general (一般) dispute.
    pub general_days: u32,
    /// Days allowed for a major (重大) dispute.
    pub major_days: u32,
    /// Days allowed for an extra-major (特大) dispute.
    pub extra_major_days: u32,
    /// Days allowed before a case is assessed: the centre must look at it within this limit.
    pub unassessed_days: u32,
    /// How long before the deadline a case counts as due soon.
    pub due_soon_hours: u32,
    pub counting: DayCounting,
    /// Public holidays (法定节假日).
    pub holidays: Vec<NaiveDate>,
    /// Weekend days that are working days (调休上班).
    pub make_up_workdays: Vec<NaiveDate>,
    /// Local time zone offset; China Standard Time is +480.
    pub utc_offset_minutes: i32,
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        DeadlinePolicy {
            simple_days: 3,
            general_days: 7,
            major_days: 7,
            extra_major_days: 7,
            unassessed_days: 3,
            due_soon_hours: 24,
            counting: DayCounting::Calendar,
            holidays: Vec::new(),
            make_up_workdays: Vec::new(),
            utc_offset_minutes: 8 * 60,
        }
    }
}

/// Where a case stands against its deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DueState {
    /// Handled (resolved, stabilised or closed): the clock has stopped.
    Handled,
    /// Open, more than the due-soon window left.
    OnTrack,
    /// Open, the deadline falls within the due-soon window (临期).
    DueSoon,
    /// Open and past the deadline (超期).
    Overdue,
}

impl DueState {
    pub fn code(self) -> &'static str {
        match self {
            DueState::Handled => "handled",
            DueState::OnTrack => "on_track",
            DueState::DueSoon => "due_soon",
            DueState::Overdue => "overdue",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            DueState::Handled => "已处置",
            DueState::OnTrack => "办理中",
            DueState::DueSoon => "即将到期",
            DueState::Overdue => "已超期",
        }
    }
}

impl DeadlinePolicy {
    /// Days allowed for a case of this difficulty (`None`: not yet assessed).
    pub fn days_for(&self, difficulty: Option<Difficulty>) -> u32 {
        match difficulty {
            None => self.unassessed_days,
            Some(Difficulty::Simple) => self.simple_days,
            Some(Difficulty::General) => self.general_days,
            Some(Difficulty::Major) => self.major_days,
            Some(Difficulty::ExtraMajor) => self.extra_major_days,
        }
    }

    /// The unit's local time.
    pub fn local(&self) -> LocalTime {
        LocalTime::at_offset(self.utc_offset_minutes)
    }

    fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.make_up_workdays.contains(&day) {
            return true;
        }
        if self.holidays.contains(&day) {
            return false;
        }
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The local calendar date of a UTC millisecond timestamp.
    pub fn local_date(&self, at_ms: i64) -> NaiveDate {
        self.local().date(at_ms)
    }

    /// The deadline (UTC milliseconds, exclusive: the first instant that is late) of a period of
    /// `days` days starting when the case was received at `start_ms`.
    pub fn due_at(&self, start_ms: i64, days: u32) -> i64 {
        let start = self.local_date(start_ms);
        let mut last = start;
        match self.counting {
            DayCounting::Calendar => {
                last = start + Duration::days(i64::from(days));
                // A period whose last day is a holiday runs to the next working day.
                while self.holidays.contains(&last) {
                    last += Duration::days(1);
                }
            }
            DayCounting::WorkingDays => {
                let mut counted = 0;
                while counted < days {
                    last += Duration::days(1);
                    if self.is_working_day(last) {
                        counted += 1;
                    }
                }
            }
        }
        let end_of_last_day = last + Duration::days(1);
        self.local().midnight(end_of_last_day)
    }

    /// The deadline of an assignment down (交办) given `days` days from `now_ms`, counted as
    /// this policy counts a case's period (`None`: not within 1 to [`MAX_ASSIGN_DOWN_DAYS`]).
    pub fn assign_down_due(&self, now_ms: i64, days: u32) -> Option<i64> {
        (1..=MAX_ASSIGN_DOWN_DAYS)
            .contains(&days)
            .then(|| self.due_at(now_ms, days))
    }

    /// Whether an assignment down made at `at_ms` may carry the deadline `due_ms`: after it was
    /// made, and no later than [`MAX_ASSIGN_DOWN_DAYS`] give.
    pub fn is_assign_down_due(&self, at_ms: i64, due_ms: i64) -> bool {
        due_ms > at_ms && due_ms <= self.due_at(at_ms, MAX_ASSIGN_DOWN_DAYS)
    }

    /// The deadline a supervision (督办) sets by naming the last day to meet it: the end of that
    /// local day (the first late instant is the next local midnight).
    pub fn supervise_due_on(&self, last_day: NaiveDate) -> i64 {
        self.local().midnight(last_day + Duration::days(1))
    }

    /// Whether a supervision issued at `at_ms` may set the deadline `due_ms`: after it is
    /// issued, and no later than the end of the [`MAX_SUPERVISE_DAYS`]th calendar day after.
    pub fn is_supervise_due(&self, at_ms: i64, due_ms: i64) -> bool {
        let latest = self.supervise_due_on(
            self.local_date(at_ms) + Duration::days(i64::from(MAX_SUPERVISE_DAYS)),
        );
        due_ms > at_ms && due_ms <= latest
    }

    /// Where an open case due at `due_ms` stands at `now_ms`.
    pub fn state(&self, due_ms: i64, handled: bool, now_ms: i64) -> DueState {
        if handled {
            DueState::Handled
        } else if now_ms >= due_ms {
            DueState::Overdue
        } else if due_ms - now_ms <= i64::from(self.due_soon_hours) * 3_600_000 {
            DueState::DueSoon
        } else {
            DueState::OnTrack
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Milliseconds for a local (China Standard Time) date and time.
    fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .timestamp_millis()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn an_assignment_down_is_due_as_the_policy_counts() {
        let calendar = DeadlinePolicy::default();
        // Given 3 days on Monday 10:00, the task is late from Friday 00:00.
        let monday = cst(2024, 3, 4, 10, 0);
        assert_eq!(
            calendar.assign_down_due(monday, 3),
            Some(cst(2024, 3, 8, 0, 0))
        );
        assert_eq!(calendar.assign_down_due(monday, 0), None);
        assert_eq!(
            calendar.assign_down_due(monday, MAX_ASSIGN_DOWN_DAYS + 1),
            None
        );
        // Counting working days, with Friday a holiday: Tuesday, Wednesday, Thursday, then
        // Monday; late from Tuesday 00:00.
        let working = DeadlinePolicy {
            counting: DayCounting::WorkingDays,
            holidays: vec![date(2024, 3, 8)],
            ..DeadlinePolicy::default()
        };
        assert_eq!(
            working.assign_down_due(monday, 4),
            Some(cst(2024, 3, 12, 0, 0))
        );
        // What the form gives is what the store and the server accept, and no later.
        let latest = working
            .assign_down_due(monday, MAX_ASSIGN_DOWN_DAYS)
            .unwrap();
        assert!(working.is_assign_down_due(monday, latest));
        assert!(!working.is_assign_down_due(monday, latest + 1));
        assert!(!working.is_assign_down_due(monday, monday));
    }

    #[test]
    fn a_supervision_names_the_last_day_within_ninety_calendar_days() {
        let policy = DeadlinePolicy {
            counting: DayCounting::WorkingDays,
            ..DeadlinePolicy::default()
        };
        let monday = cst(2024, 3, 4, 10, 0);
        // The last day named is met until its end, whatever the unit's working days.
        let friday = policy.supervise_due_on(date(2024, 3, 8));
        assert_eq!(friday, cst(2024, 3, 9, 0, 0));
        assert!(policy.is_supervise_due(monday, friday));
        // Today itself is a deadline later than now; the past is not.
        let today = policy.supervise_due_on(date(2024, 3, 4));
        assert!(policy.is_supervise_due(monday, today));
        assert!(!policy.is_supervise_due(monday, monday));
        assert!(!policy.is_supervise_due(monday, policy.supervise_due_on(date(2024, 3, 3))));
        // Ninety calendar days after the day it is issued, and not a day more.
        let latest = policy.supervise_due_on(date(2024, 3, 4) + Duration::days(90));
        assert_eq!(latest, cst(2024, 6, 3, 0, 0));
        assert!(policy.is_supervise_due(monday, latest));
        assert!(!policy.is_supervise_due(monday, latest + 1));
    }

    #[test]
    fn local_time_at_an_offset() {
        let local = LocalTime::at_offset(480);
        assert_eq!(local, LocalTime::CHINA);
        let t = cst(2024, 3, 4, 0, 30);
        assert_eq!(local.date(t), date(2024, 3, 4));
        assert_eq!(local.start_of_day(t), cst(2024, 3, 4, 0, 0));
        assert_eq!(LocalTime::at_offset(0).date(t), date(2024, 3, 3));
        assert_eq!(LocalTime::at_offset(i32::MAX), LocalTime::CHINA);
    }

    struct Case {
        name: &'static str,
        policy: DeadlinePolicy,
        start: i64,
        difficulty: Option<Difficulty>,
        due: i64,
    }

    fn check(cases: Vec<Case>) {
        for c in cases {
            let got = c.policy.due_at(c.start, c.policy.days_for(c.difficulty));
            assert_eq!(
                got,
                c.due,
                "{}: got {}",
                c.name,
                chrono::DateTime::from_timestamp_millis(got).unwrap()
            );
        }
    }

    #[test]
    fn deadlines_from_difficulty_and_calendar() {
        let default = DeadlinePolicy::default;
        let working = || DeadlinePolicy {
            counting: DayCounting::WorkingDays,
            ..DeadlinePolicy::default()
        };
        // 2024 National Day: 1–7 Oct off, Sun 29 Sep and Sat 12 Oct are make-up working days.
        let national_day = || DeadlinePolicy {
            counting: DayCounting::WorkingDays,
            holidays: (1..=7).map(|d| date(2024, 10, d)).collect(),
            make_up_workdays: vec![date(2024, 9, 29), date(2024, 10, 12)],
            ..DeadlinePolicy::default()
        };
        check(vec![
            Case {
                name: "simple: received Monday, due end of Thursday",
                policy: default(),
                start: cst(2024, 3, 4, 10, 0),
                difficulty: Some(Difficulty::Simple),
                due: cst(2024, 3, 8, 0, 0),
            },
            Case {
                name: "general: seven days",
                policy: default(),
                start: cst(2024, 3, 4, 10, 0),
                difficulty: Some(Difficulty::General),
                due: cst(2024, 3, 12, 0, 0),
            },
            Case {
                name: "leap year: 27 Feb 2024 + 3 days is 1 March",
                policy: default(),
                start: cst(2024, 2, 27, 15, 0),
                difficulty: Some(Difficulty::Simple),
                due: cst(2024, 3, 2, 0, 0),
            },
            Case {
                name: "not a leap year: 27 Feb 2023 + 3 days is 2 March",
                policy: default(),
                start: cst(2023, 2, 27, 15, 0),
                difficulty: Some(Difficulty::Simple),
                due: cst(2023, 3, 3, 0, 0),
            },
            Case {
                name: "year end",
                policy: default(),
                start: cst(2024, 12, 30, 9, 0),
                difficulty: Some(Difficulty::Simple),
                due: cst(2025, 1, 3, 0, 0),
            },
            Case {
                name: "received 23:30 local is still that local day (15:30 UTC)",
                policy: default(),
                start: cst(2024, 3, 4, 23, 30),
                difficulty: Some(Difficulty::Simple),
                due: cst(2024, 3, 8, 0, 0),
            },
            Case {
                name: "received 00:30 local is the next local day although UTC is the day before",
                policy: default(),
                start: cst(2024, 3, 5, 0, 30),
                difficulty: Some(Difficulty::Simple),
                due: cst(2024, 3, 9, 0, 0),
            },
            Case {
                name: "unassessed cases get the assessment limit",
                policy: default(),
                start: cst(2024, 3, 4, 10, 0),
                difficulty: None,
                due: cst(2024, 3, 8, 0, 0),
            },
            Case {
                name: "working days skip the weekend: Thursday + 3 is Tuesday",
                policy: working(),
                start: cst(2024, 3, 7, 10, 0),
                difficulty: Some(Difficulty::Simple),
                due: cst(2024, 3, 13, 0, 0),
            },
            Case {
                name: "working days skip National Day and count the make-up Saturday",
                policy: national_day(),
                start: cst(2024, 9, 30, 10, 0),
                difficulty: Some(Difficulty::Simple),
                // 8 Oct (Tue), 9 Oct, 10 Oct
                due: cst(2024, 10, 11, 0, 0),
            },
            Case {
                name: "make-up Saturday counts",
                policy: national_day(),
                start: cst(2024, 10, 10, 10, 0),
                difficulty: Some(Difficulty::Simple),
                // 11 Oct (Fri), 12 Oct (make-up Sat), 14 Oct (Mon)
                due: cst(2024, 10, 15, 0, 0),
            },
            Case {
                name: "calendar period ending on a holiday runs to the next working day",
                policy: DeadlinePolicy {
                    holidays: (1..=7).map(|d| date(2024, 10, d)).collect(),
                    ..DeadlinePolicy::default()
                },
                start: cst(2024, 9, 28, 10, 0),
                difficulty: Some(Difficulty::Simple),
                due: cst(2024, 10, 9, 0, 0),
            },
            Case {
                name: "a unit may allow major cases longer",
                policy: DeadlinePolicy {
                    major_days: 15,
                    ..DeadlinePolicy::default()
                },
                start: cst(2024, 3, 4, 10, 0),
                difficulty: Some(Difficulty::Major),
                due: cst(2024, 3, 20, 0, 0),
            },
        ]);
    }

    #[test]
    fn due_state_windows() {
        let p = DeadlinePolicy::default();
        let due = cst(2024, 3, 8, 0, 0);
        assert_eq!(
            p.state(due, false, cst(2024, 3, 6, 23, 59)),
            DueState::OnTrack
        );
        assert_eq!(
            p.state(due, false, cst(2024, 3, 7, 0, 0)),
            DueState::DueSoon
        );
        assert_eq!(
            p.state(due, false, cst(2024, 3, 7, 23, 59)),
            DueState::DueSoon
        );
        assert_eq!(p.state(due, false, due), DueState::Overdue);
        assert_eq!(p.state(due, true, due + 1), DueState::Handled);
    }
}
