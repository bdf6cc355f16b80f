//! Times as people read them: the core speaks UTC milliseconds, people China Standard Time
//! (every unit of the demo and of the reports is in UTC+8). Also the figures screen's periods
//! (this month, quarter, year) as millisecond ranges. Pure:
//! "now" is always an argument, so all of it is tested natively; [`now_ms`] is the one clock.

use crate::i18n::Lang;
use app_core::deadline::LocalTime;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};

/// The time people read: China Standard Time, as the core's deadlines count it.
const ZONE: LocalTime = LocalTime::CHINA;
/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// The current time (UTC milliseconds): the browser's clock in the app, the system's natively.
pub fn now_ms() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default()
    }
}

fn local(ms: i64) -> NaiveDateTime {
    ZONE.datetime(ms)
}

/// The local midnight starting `date` (UTC milliseconds).
fn midnight(date: NaiveDate) -> i64 {
    ZONE.midnight(date)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// "10:32".
pub fn clock(ms: i64) -> String {
    let t = local(ms);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// The date, with the year only when it is not this year: "6月28日" / "28 Jun",
/// "2024年6月28日" / "28 Jun 2024".
pub fn date(ms: i64, now: i64, lang: Lang) -> String {
    let (t, n) = (local(ms).date(), local(now).date());
    let month = t.month0() as usize;
    match (lang, t.year() == n.year()) {
        (Lang::Zh, true) => format!("{}月{}日", t.month(), t.day()),
        (Lang::Zh, false) => format!("{}年{}月{}日", t.year(), t.month(), t.day()),
        (Lang::En, true) => format!("{} {}", t.day(), MONTHS[month]),
        (Lang::En, false) => format!("{} {} {}", t.day(), MONTHS[month], t.year()),
    }
}

/// A moment: the time alone when it is today, else the date and the time.
pub fn moment(ms: i64, now: i64, lang: Lang) -> String {
    if local(ms).date() == local(now).date() {
        clock(ms)
    } else {
        format!("{} {}", date(ms, now, lang), clock(ms))
    }
}

/// A deadline (the first late instant, as the core gives it) as the last day to meet it:
/// a deadline at local midnight reads as the day before ("期限 11月29日" is met until 24:00).
pub fn deadline(due_at: i64, now: i64, lang: Lang) -> String {
    let t = local(due_at);
    if t.hour() == 0 && t.minute() == 0 {
        date(due_at - 1, now, lang)
    } else {
        format!("{} {}", date(due_at, now, lang), clock(due_at))
    }
}

/// A month key of the figures ("2026-10") as a label: "2026年10月" / "Oct 2026".
pub fn month_label(key: &str, lang: Lang) -> String {
    let parsed = key
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<usize>().ok()?)))
        .filter(|(_, m)| (1..=12).contains(m));
    match (parsed, lang) {
        (Some((y, m)), Lang::Zh) => format!("{y}年{m}月"),
        (Some((y, m)), Lang::En) => format!("{} {y}", MONTHS[m - 1]),
        (None, _) => key.to_owned(),
    }
}

/// The periods the figures screen offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Month,
    Quarter,
    Year,
    All,
}

impl Period {
    pub const ALL: [Period; 4] = [Period::Month, Period::Quarter, Period::Year, Period::All];

    pub fn code(self) -> &'static str {
        match self {
            Period::Month => "month",
            Period::Quarter => "quarter",
            Period::Year => "year",
            Period::All => "all",
        }
    }

    pub fn from_code(code: &str) -> Option<Period> {
        Period::ALL.into_iter().find(|p| p.code() == code)
    }

    /// `[from, to)` in UTC milliseconds: the local calendar month, quarter or year holding
    /// `now`; all time runs from the epoch to the end of today.
    pub fn range(self, now: i64) -> (i64, i64) {
        let today = local(now).date();
        let first = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default();
        let (y, m) = (today.year(), today.month());
        let (start, end) = match self {
            Period::Month => (
                first(y, m),
                if m == 12 {
                    first(y + 1, 1)
                } else {
                    first(y, m + 1)
                },
            ),
            Period::Quarter => {
                let q = (m - 1) / 3 * 3 + 1;
                (
                    first(y, q),
                    if q == 10 {
                        first(y + 1, 1)
                    } else {
                        first(y, q + 3)
                    },
                )
            }
            Period::Year => (first(y, 1), first(y + 1, 1)),
            Period::All => return (0, midnight(today + Duration::days(1))),
        };
        (midnight(start), midnight(end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// UTC milliseconds of a China Standard Time wall-clock time.
    fn cst(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        midnight(NaiveDate::from_ymd_opt(y, mo, d).unwrap()) + i64::from(h * 60 + mi) * 60_000
    }

    #[test]
    fn times_read_in_china_standard_time() {
        let now = cst(2025, 6, 30, 18, 0);
        assert_eq!(
            clock(cst(2025, 6, 30, 0, 30)),
            "00:30",
            "UTC says the day before"
        );
        assert_eq!(moment(cst(2025, 6, 30, 10, 32), now, Lang::Zh), "10:32");
        assert_eq!(
            moment(cst(2025, 6, 28, 9, 5), now, Lang::Zh),
            "6月28日 09:05"
        );
        assert_eq!(
            moment(cst(2025, 6, 28, 9, 5), now, Lang::En),
            "28 Jun 09:05"
        );
        assert_eq!(
            date(cst(2024, 12, 31, 23, 0), now, Lang::Zh),
            "2024年12月31日"
        );
        assert_eq!(date(cst(2024, 12, 31, 23, 0), now, Lang::En), "31 Dec 2024");
    }

    #[test]
    fn periods_are_local_calendar_ranges() {
        let now = cst(2025, 11, 15, 0, 10);
        assert_eq!(
            Period::Month.range(now),
            (cst(2025, 11, 1, 0, 0), cst(2025, 12, 1, 0, 0))
        );
        assert_eq!(
            Period::Quarter.range(now),
            (cst(2025, 10, 1, 0, 0), cst(2026, 1, 1, 0, 0))
        );
        assert_eq!(
            Period::Year.range(now),
            (cst(2025, 1, 1, 0, 0), cst(2026, 1, 1, 0, 0))
        );
        assert_eq!(Period::All.range(now), (0, cst(2025, 11, 16, 0, 0)));
        let december = cst(2025, 12, 31, 23, 59);
        assert_eq!(Period::Month.range(december).1, cst(2026, 1, 1, 0, 0));
        let february = cst(2025, 2, 3, 8, 0);
        assert_eq!(
            Period::Quarter.range(february),
            (cst(2025, 1, 1, 0, 0), cst(2025, 4, 1, 0, 0))
        );
        for p in Period::ALL {
            assert_eq!(Period::from_code(p.code()), Some(p));
        }
    }

    #[test]
    fn a_deadline_reads_as_its_last_day() {
        let now = cst(2025, 11, 15, 9, 0);
        assert_eq!(deadline(cst(2025, 11, 30, 0, 0), now, Lang::Zh), "11月29日");
        assert_eq!(deadline(cst(2026, 1, 1, 0, 0), now, Lang::En), "31 Dec");
        assert_eq!(
            deadline(cst(2025, 11, 30, 17, 30), now, Lang::Zh),
            "11月30日 17:30"
        );
    }

    #[test]
    fn months_and_deadlines() {
        assert_eq!(month_label("2026-10", Lang::Zh), "2026年10月");
        assert_eq!(month_label("2026-01", Lang::En), "Jan 2026");
        assert_eq!(month_label("soon", Lang::En), "soon");
    }
}
