//! The header's one-line answer to "is my work on the centre's server yet?": when the device last
//! synced, how many changes wait to be sent, and whether it is offline, syncing or refused. Pure,
//! from the shell's [`SyncState`], so every wording is tested natively.

use crate::i18n::{t, tf, Key, Lang};
use crate::time;
use app_core::screens::SyncState;

/// How the sync stands, for the line's colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Synced (possibly with changes waiting for the next round).
    Ok,
    /// A sync is running.
    Busy,
    /// The last sync failed, or the device is not enrolled.
    Trouble,
}

impl Tone {
    /// The CSS class of the line.
    pub fn class(self) -> &'static str {
        match self {
            Tone::Ok => "sync-ok",
            Tone::Busy => "sync-busy",
            Tone::Trouble => "sync-trouble",
        }
    }
}

/// Why the last sync failed, in the interface's language.
pub fn error_text(s: &SyncState, lang: Lang) -> Option<String> {
    match lang {
        Lang::Zh => s.error_zh.clone().or_else(|| s.error.clone()),
        Lang::En => s.error.clone(),
    }
}

/// The state part of the line: "已同步 10:32", "离线", "正在同步"…
pub fn status(s: &SyncState, lang: Lang, now: i64) -> String {
    if !s.enrolled {
        t(lang, Key::NotEnrolled).to_owned()
    } else if s.syncing {
        t(lang, Key::Syncing).to_owned()
    } else if s.error.is_some() {
        t(
            lang,
            if s.offline {
                Key::SyncLineOffline
            } else {
                Key::SyncLineFailed
            },
        )
        .to_owned()
    } else if let Some(at) = s.last_synced_at {
        tf(lang, Key::SyncLineSynced, &[&time::moment(at, now, lang)])
    } else {
        t(lang, Key::SyncLineNever).to_owned()
    }
}

/// The whole line: "已同步 10:32 · 待发送 0", "离线 · 待发送 3", "正在同步 · 待发送 2 · 退回 1".
pub fn line(s: &SyncState, lang: Lang, now: i64) -> String {
    let mut out = status(s, lang, now);
    if !s.enrolled {
        return out;
    }
    out.push_str(" · ");
    out.push_str(&tf(lang, Key::SyncLineWaiting, &[&s.waiting]));
    if s.photos_waiting > 0 {
        out.push_str(" · ");
        out.push_str(&tf(lang, Key::SyncLinePhotos, &[&s.photos_waiting]));
    }
    if !s.refused.is_empty() {
        out.push_str(" · ");
        out.push_str(&tf(lang, Key::SyncLineRefused, &[&s.refused.len()]));
    }
    out
}

/// The line's tone.
pub fn tone(s: &SyncState) -> Tone {
    if !s.enrolled || s.error.is_some() || !s.refused.is_empty() {
        Tone::Trouble
    } else if s.syncing {
        Tone::Busy
    } else {
        Tone::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    /// 2025-06-30 18:00 China Standard Time.
    const NOW: i64 = 1_751_277_600_000;

    fn enrolled() -> SyncState {
        SyncState {
            enrolled: true,
            server: Some("http://192.168.1.10:8737".into()),
            ..SyncState::default()
        }
    }

    #[test]
    fn synced_with_the_time_and_what_waits() {
        // 10:32 the same day, China Standard Time.
        let s = SyncState {
            last_synced_at: Some(NOW - 7 * HOUR - 28 * 60_000),
            ..enrolled()
        };
        assert_eq!(line(&s, Lang::Zh, NOW), "已同步 10:32 · 待发送 0");
        assert_eq!(line(&s, Lang::En, NOW), "Synced 10:32 · 0 to send");
        assert_eq!(tone(&s), Tone::Ok);
        let yesterday = SyncState {
            last_synced_at: Some(NOW - 24 * HOUR),
            waiting: 2,
            ..enrolled()
        };
        assert_eq!(
            line(&yesterday, Lang::Zh, NOW),
            "已同步 6月29日 18:00 · 待发送 2"
        );
        let photos = SyncState {
            photos_waiting: 1,
            ..yesterday
        };
        assert_eq!(
            line(&photos, Lang::Zh, NOW),
            "已同步 6月29日 18:00 · 待发送 2 · 照片 1"
        );
        assert!(line(&photos, Lang::En, NOW).ends_with("· photos: 1"));
    }

    #[test]
    fn offline_syncing_refused_and_never() {
        let offline = SyncState {
            last_synced_at: Some(NOW - HOUR),
            waiting: 3,
            error: Some("the server cannot be reached: connection refused".into()),
            error_zh: Some("无法连接服务器（记录已保存在本机，联网后自动同步）".into()),
            offline: true,
            ..enrolled()
        };
        assert_eq!(line(&offline, Lang::Zh, NOW), "离线 · 待发送 3");
        assert_eq!(line(&offline, Lang::En, NOW), "Offline · 3 to send");
        assert_eq!(tone(&offline), Tone::Trouble);
        let refused_request = SyncState {
            error: Some("the server refused the request (Revoked, HTTP 401): revoked".into()),
            error_zh: Some("本机的登记已被撤销，请联系综治中心".into()),
            offline: false,
            ..offline.clone()
        };
        assert_eq!(line(&refused_request, Lang::Zh, NOW), "同步出错 · 待发送 3");
        assert_eq!(
            error_text(&refused_request, Lang::Zh).as_deref(),
            Some("本机的登记已被撤销，请联系综治中心"),
            "the reason in the interface's language"
        );
        assert!(error_text(&refused_request, Lang::En).is_some_and(|e| e.contains("refused")));
        let syncing = SyncState {
            syncing: true,
            waiting: 2,
            ..enrolled()
        };
        assert_eq!(line(&syncing, Lang::Zh, NOW), "正在同步 · 待发送 2");
        assert_eq!(tone(&syncing), Tone::Busy);
        let never = enrolled();
        assert_eq!(line(&never, Lang::En, NOW), "Not synced yet · 0 to send");
        let refused = SyncState {
            last_synced_at: Some(NOW),
            refused: vec![app_core::screens::RefusedDoc {
                doc: "case:abc".into(),
                changes: 1,
                zh: "超出本人的工作范围".into(),
                en: "not in your scope".into(),
            }],
            ..enrolled()
        };
        assert_eq!(
            line(&refused, Lang::Zh, NOW),
            "已同步 18:00 · 待发送 0 · 退回 1"
        );
        assert_eq!(tone(&refused), Tone::Trouble);
        assert_eq!(line(&SyncState::default(), Lang::Zh, NOW), "未登记");
    }
}
