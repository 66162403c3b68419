//! Passkeys: WebAuthn discoverable credentials (webauthn-rs), registered by a
//! signed-in user and used to sign in with no email typed. Each ceremony's
//! state stays on the server ([`challenges`]), bound to the browser and spent
//! once; the credentials are [`store`]d per user. A passkey sign-in verifies
//! the user (webauthn-rs' passkeys require user verification), so it counts
//! as both factors. Off when `GATEHOUSE_URL`'s host is an IP address.

pub mod challenges;
pub mod reauth;
pub mod store;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use self::challenges::Purpose;
use crate::audit::{self, Event, action};
use crate::auth::gate::{self, Refusal};
use crate::config::webauthn::RelyingParty;
use crate::db::DbConn;
use crate::error::AppError;
use crate::i18n::Msg;
use crate::ratelimit::{self, Limits};
use crate::session::{Device, ExpiryPolicy, PlainToken};

/// The longest passkey name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// The relying party, or nothing when passkeys are off.
#[derive(Clone, Debug)]
pub struct Passkeys {
    webauthn: Option<Webauthn>,
}

/// Why a ceremony did not go through; in every case nothing changed but the
/// challenge, which is spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// No live ceremony for this browser: unknown, spent (a replay), expired,
    /// of the other purpose, started in another browser or for another user.
    NoChallenge,
    /// The authenticator's answer does not verify (signature, origin,
    /// challenge, user verification, …).
    Invalid,
    /// The credential is not (or no longer) registered.
    UnknownPasskey,
    /// The signature counter did not move forward: the authenticator may have
    /// been cloned.
    CounterWentBack,
    /// This credential is registered already.
    AlreadyRegistered,
    /// The sign-in gate refused the user (banned, a domain not allowed).
    Gate(Refusal),
}

impl Refused {
    /// `details.reason` of a `sign_in_failed` event.
    pub fn reason(&self) -> &'static str {
        match self {
            Refused::NoChallenge => "no_challenge",
            Refused::Invalid => "invalid_assertion",
            Refused::UnknownPasskey => "unknown_passkey",
            Refused::CounterWentBack => "counter_went_back",
            Refused::AlreadyRegistered => "already_registered",
            Refused::Gate(Refusal::Banned { .. }) => "banned",
            Refused::Gate(_) => "refused",
        }
    }
}

/// A refusal, and the user it concerns when the passkey was known.
#[derive(Debug)]
pub struct Failure {
    pub refused: Refused,
    pub user_id: Option<i64>,
}

/// A registration's server-side state: webauthn-rs' and the user handle the
/// authenticator was given.
#[derive(Serialize, Deserialize)]
struct Registration {
    handle: Uuid,
    state: PasskeyRegistration,
}

/// Options for the browser, and the token its cookie binds them to.
pub struct Started {
    /// `{"publicKey": …}` for `navigator.credentials.create/get`.
    pub options: serde_json::Value,
    pub binding: PlainToken,
}

/// A passkey sign-in that went through.
#[derive(Debug)]
pub struct SignedIn {
    pub user_id: i64,
    pub session: PlainToken,
}

/// A passkey just added.
#[derive(Debug, Clone, Serialize)]
pub struct Added {
    #[serde(serialize_with = "id_string")]
    pub id: i64,
    pub name: String,
}

fn id_string<S: serde::Serializer>(id: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&id.to_string())
}

fn internal(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("passkeys: {what}: {e}"))
}

/// What a ceremony step answers: done, refused, or a database failure.
type Outcome<T> = Result<Result<T, Failure>, AppError>;

fn refuse<T>(refused: Refused, user_id: Option<i64>) -> Outcome<T> {
    Ok(Err(Failure { refused, user_id }))
}

/// What rolls a ceremony's transaction back.
enum Abort {
    Refused(Refused),
    Failed(diesel::result::Error),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Failed(e)
    }
}

/// A transaction's result as an [`Outcome`].
fn settle<T>(done: Result<T, Abort>, user_id: Option<i64>) -> Outcome<T> {
    match done {
        Ok(t) => Ok(Ok(t)),
        Err(Abort::Refused(refused)) => refuse(refused, user_id),
        Err(Abort::Failed(e)) => Err(e.into()),
    }
}

/// A passkey's name as typed: trimmed; empty picks the default.
pub fn validate_name(raw: &str) -> Result<Option<String>, Msg> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Msg::key("passkey-name-long").with("max", MAX_NAME_CHARS));
    }
    if name.chars().any(char::is_control) {
        return Err(Msg::key("passkey-name-control"));
    }
    Ok(Some(name.to_owned()))
}

impl Passkeys {
    pub fn new(rp: &RelyingParty) -> Result<Self, String> {
        let webauthn = match rp {
            RelyingParty::Off { .. } => None,
            RelyingParty::On { rp_id, origin } => Some(
                WebauthnBuilder::new(rp_id, origin)
                    .and_then(|b| b.rp_name("gatehouse").build())
                    .map_err(|e| format!("passkeys: relying party {rp_id} at {origin}: {e}"))?,
            ),
        };
        Ok(Passkeys { webauthn })
    }

    pub fn is_on(&self) -> bool {
        self.webauthn.is_some()
    }

    /// The relying party; `NotFound` while passkeys are off (the routes
    /// answer 404 then).
    pub fn relying_party(&self) -> Result<&Webauthn, AppError> {
        self.webauthn.as_ref().ok_or(AppError::NotFound)
    }

    /// Starts a registration for the signed-in user: a discoverable
    /// credential, user verification required, not one they registered
    /// already.
    pub fn start_registration(
        &self,
        conn: &mut DbConn,
        user_id: i64,
        email: &str,
        display_name: &str,
    ) -> Result<Started, AppError> {
        let webauthn = self.relying_party()?;
        let handle = store::user_handle(conn, user_id)?
            .and_then(|b| Uuid::from_slice(&b).ok())
            .unwrap_or_else(Uuid::new_v4);
        let exclude = store::credential_ids(conn, user_id)?;
        let (options, state) = webauthn
            .start_passkey_registration(handle, email, display_name, Some(exclude))
            .map_err(|e| internal("start registration", e))?;
        let mut options = serde_json::to_value(&options).map_err(|e| internal("options", e))?;
        // A passkey is a discoverable credential: sign-in names no user.
        if let Some(selection) = options
            .pointer_mut("/publicKey/authenticatorSelection")
            .and_then(|v| v.as_object_mut())
        {
            selection.insert("residentKey".into(), "required".into());
            selection.insert("requireResidentKey".into(), true.into());
        }
        let state = serde_json::to_string(&Registration { handle, state })
            .map_err(|e| internal("state", e))?;
        let binding = PlainToken::generate();
        challenges::save(conn, &binding, Purpose::Register, Some(user_id), &state)?;
        Ok(Started { options, binding })
    }

    /// Finishes the registration bound to `binding` for the user of
    /// `parties` (`SignedIn::audit_parties`: actor, user): stores the passkey
    /// as `name` (or "Passkey N") and records `passkey_added`, in one
    /// transaction.
    pub fn finish_registration(
        &self,
        conn: &mut DbConn,
        binding: &PlainToken,
        parties: (i64, i64),
        name: Option<String>,
        answer: &RegisterPublicKeyCredential,
        device: &Device,
    ) -> Outcome<Added> {
        let webauthn = self.relying_party()?;
        let user_id = parties.1;
        let spent = challenges::spend(conn, binding, Purpose::Register)?;
        let Some(spent) = spent.filter(|s| s.user_id == Some(user_id)) else {
            return refuse(Refused::NoChallenge, Some(user_id));
        };
        let reg: Registration =
            serde_json::from_str(&spent.state).map_err(|e| internal("stored state", e))?;
        let passkey = match webauthn.finish_passkey_registration(answer, &reg.state) {
            Ok(p) => p,
            Err(e) => {
                log::info!("passkey registration refused: {e}");
                return refuse(Refused::Invalid, Some(user_id));
            }
        };
        let json = serde_json::to_string(&passkey).map_err(|e| internal("passkey", e))?;
        let credential_id: &[u8] = passkey.cred_id().as_ref();
        let added = conn.write_transaction(|conn| {
            let name = match name {
                Some(n) => n,
                None => format!("Passkey {}", store::count(conn, user_id)? + 1),
            };
            let new = store::New {
                user_id,
                credential_id,
                user_handle: reg.handle.as_bytes(),
                name: &name,
                passkey: &json,
                now: Utc::now().naive_utc(),
            };
            let Some(id) = store::insert(conn, &new)? else {
                return Err(Abort::Refused(Refused::AlreadyRegistered));
            };
            audit::record(
                conn,
                Event::between(parties, action::PASSKEY_ADDED, device)
                    .details(serde_json::json!({"passkey_id": id.to_string(), "name": name})),
            )?;
            Ok(Added { id, name })
        });
        settle(added, Some(user_id))
    }

    /// Starts a sign-in: no user named, any of the site's passkeys may answer.
    pub fn start_sign_in(&self, conn: &mut DbConn) -> Result<Started, AppError> {
        let webauthn = self.relying_party()?;
        let (options, state) = webauthn
            .start_discoverable_authentication()
            .map_err(|e| internal("start sign-in", e))?;
        let mut options = serde_json::to_value(&options).map_err(|e| internal("options", e))?;
        // webauthn-rs asks for conditional mediation (autofill); the page
        // asks with a button instead.
        if let Some(o) = options.as_object_mut() {
            o.remove("mediation");
        }
        let state = serde_json::to_string(&state).map_err(|e| internal("state", e))?;
        let binding = PlainToken::generate();
        challenges::save(conn, &binding, Purpose::SignIn, None, &state)?;
        Ok(Started { options, binding })
    }

    /// Finishes the sign-in bound to `binding`: verifies the assertion
    /// against the stored passkey, refuses a counter that did not move
    /// forward, then in one transaction records the use (counter, backup
    /// state, `last_used_at`), passes the sign-in gate, creates the session
    /// and audits `sign_in` (`method: passkey`).
    pub fn finish_sign_in(
        &self,
        conn: &mut DbConn,
        binding: &PlainToken,
        answer: &PublicKeyCredential,
        rules: &gate::Rules,
        device: &Device,
        policy: &ExpiryPolicy,
    ) -> Outcome<SignedIn> {
        let webauthn = self.relying_party()?;
        let Some(spent) = challenges::spend(conn, binding, Purpose::SignIn)? else {
            return refuse(Refused::NoChallenge, None);
        };
        let state: DiscoverableAuthentication =
            serde_json::from_str(&spent.state).map_err(|e| internal("stored state", e))?;
        let Ok((handle, credential_id)) = webauthn.identify_discoverable_authentication(answer)
        else {
            return refuse(Refused::Invalid, None);
        };
        let Some(found) = store::find_by_credential(conn, credential_id)? else {
            return refuse(Refused::UnknownPasskey, None);
        };
        let user_id = found.user_id;
        if found.user_handle != handle.as_bytes() {
            return refuse(Refused::Invalid, Some(user_id));
        }
        let mut passkey: Passkey =
            serde_json::from_str(&found.passkey).map_err(|e| internal("stored passkey", e))?;
        let result = match webauthn.finish_discoverable_authentication_v2(answer, state, &passkey) {
            Ok(r) => r,
            Err(WebauthnError::CredentialPossibleCompromise) => {
                log::warn!(
                    "passkey {} of user {user_id}: the signature counter went back; refused (a cloned authenticator?)",
                    found.id
                );
                return refuse(Refused::CounterWentBack, Some(user_id));
            }
            Err(e) => {
                log::info!("passkey sign-in refused: {e}");
                return refuse(Refused::Invalid, Some(user_id));
            }
        };
        passkey.update_credential(&result);
        let updated = serde_json::to_string(&passkey).map_err(|e| internal("passkey", e))?;
        let signed_in = conn.write_transaction(|conn| {
            let now = Utc::now().naive_utc();
            if !store::record_use(conn, found.id, &found.passkey, &updated, now)? {
                return Err(Abort::Refused(Refused::UnknownPasskey));
            }
            if let Err(refusal) =
                gate::check(conn, user_id, rules, crate::hooks::SignInMethod::Passkey)?
            {
                return Err(Abort::Refused(Refused::Gate(refusal)));
            }
            let session = crate::session::create_session(conn, user_id, device, policy, None, 2)?;
            audit::record(
                conn,
                Event::by(user_id, action::SIGN_IN, device).details(serde_json::json!({
                    "method": "passkey",
                    "passkey_id": found.id.to_string(),
                })),
            )?;
            Ok(SignedIn { user_id, session })
        });
        settle(signed_in, Some(user_id))
    }
}

/// The user removes their passkey `id` (`parties` as for
/// [`Passkeys::finish_registration`]); `false` when they have none of that
/// id. The removal and its `passkey_removed` event are one transaction.
pub fn remove(
    conn: &mut DbConn,
    user_id: i64,
    id: i64,
    parties: (i64, i64),
    device: &Device,
) -> Result<bool, AppError> {
    conn.write_transaction(|conn| {
        let Some(name) = store::remove(conn, user_id, id)? else {
            return Ok(false);
        };
        audit::record(
            conn,
            Event::between(parties, action::PASSKEY_REMOVED, device)
                .details(serde_json::json!({"passkey_id": id.to_string(), "name": name})),
        )?;
        Ok(true)
    })
}

/// The per-address counter of failed sign-ins that passkey failures share
/// with passwords (`RATE_LIMIT_SIGNIN`).
fn failures_key(device: &Device) -> String {
    format!("signin:ip:{}", ratelimit::client_key(&device.ip))
}

/// `Some(seconds)` while this address may not try again.
pub fn locked_out(
    conn: &mut DbConn,
    limits: &Limits,
    device: &Device,
) -> diesel::QueryResult<Option<u64>> {
    match &limits.signin {
        Some(rule) => ratelimit::peek(conn, &failures_key(device), rule),
        None => Ok(None),
    }
}

/// A failed passkey sign-in (or re-confirmation): counted against the
/// address and audited (`sign_in_failed` with `method`, `passkey` or
/// `reauth_passkey`, and the reason), with a `rate_limited` event when it
/// used up the address' budget.
pub fn record_failure(
    conn: &mut DbConn,
    limits: &Limits,
    device: &Device,
    method: &'static str,
    failure: &Failure,
) -> diesel::QueryResult<()> {
    conn.write_transaction(|conn| {
        if let Some(rule) = &limits.signin {
            let key = failures_key(device);
            let hit = ratelimit::hit(conn, &key, rule)?;
            if hit.exhausted_now() {
                audit::record(
                    conn,
                    ratelimit::trip(device, "signin", &key, hit.retry_after),
                )?;
            }
        }
        audit::record(
            conn,
            Event {
                actor_id: None,
                target_id: failure.user_id,
                action: action::SIGN_IN_FAILED,
                device: Some(device),
                details: serde_json::json!({
                    "method": method,
                    "reason": failure.refused.reason(),
                }),
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(validate_name("  "), Ok(None));
        assert_eq!(validate_name(" Laptop "), Ok(Some("Laptop".into())));
        assert!(validate_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(validate_name(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(validate_name("a\u{7}b").is_err());
    }

    #[test]
    fn an_ip_address_leaves_passkeys_off_and_a_domain_turns_them_on() {
        let off = RelyingParty::from_public_url(&Url::parse("http://127.0.0.1:8080/").unwrap());
        assert!(!Passkeys::new(&off).unwrap().is_on());
        let on = RelyingParty::from_public_url(&Url::parse("http://localhost:8080/").unwrap());
        assert!(Passkeys::new(&on).unwrap().is_on());
    }
}
