//! Desktop entry point: the whole app is in the library, shared with the phone builds.

// No console window behind the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    fengqiao_app_lib::run()
}
