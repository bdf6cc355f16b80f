//! The Tauri 2 shell. The window, commands and background sync come with the app issue; the core
//! it will call is `app-core`.

/// The name the app shows.
pub const APP_NAME: &str = "枫桥调解";
