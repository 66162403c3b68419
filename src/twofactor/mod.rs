//! Second factors (issue 12): TOTP secrets and codes ([`totp`]) and
//! single-use recovery codes ([`recovery`]). What is built so far is the
//! domain logic with its unit tests; the tables, pages and the sign-in step
//! follow.

pub mod recovery;
pub mod totp;
