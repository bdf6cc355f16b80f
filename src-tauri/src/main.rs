//! Desktop entry point of the shell.

fn main() {
    println!(
        "{}: the app window comes with the app issue",
        fengqiao_app_lib::APP_NAME
    );
}
