//! Rebuilds the service when a migration is added: the migrations are
//! embedded by `sqlx::migrate!`, which cannot tell cargo about a new file.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
