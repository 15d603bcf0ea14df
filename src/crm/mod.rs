//! Customer relationship: what a station does to keep its customers once
//! they have a card — their archive (contacts, consents, the timeline of
//! everything, merging two records of one customer), their levels and
//! lifecycle, the call-back list of the ones who stopped coming, the log of
//! every call and visit with the station's visit plan and the birthdays to
//! remember, and their complaints taken to closure within time limits.

pub mod archive;
pub mod care;
pub mod complaints;
pub mod grading;
