//! Re-confirming a session with a passkey (`/reauth`): the signed-in user's
//! own passkeys are offered (not a discoverable sign-in: the user is known),
//! the ceremony is bound to this browser and this user like the others, and
//! a verified assertion moves the credential's counter as a sign-in does. The
//! session's `authenticated_at` is the caller's to set (`auth::fresh`).

use webauthn_rs::prelude::{Passkey, PasskeyAuthentication, PublicKeyCredential, WebauthnError};

use super::challenges::{self, Purpose};
use super::{Outcome, Passkeys, Refused, Started, internal, refuse, store};
use crate::db::DbConn;
use crate::error::AppError;
use crate::session::PlainToken;

impl Passkeys {
    /// Options naming the user's passkeys; `None` when they have none.
    pub fn start_reauth(
        &self,
        conn: &mut DbConn,
        user_id: i64,
    ) -> Result<Option<Started>, AppError> {
        let webauthn = self.relying_party()?;
        let passkeys: Vec<Passkey> = store::passkeys_of(conn, user_id)?
            .iter()
            .map(|json| serde_json::from_str(json))
            .collect::<Result<_, _>>()
            .map_err(|e| internal("stored passkey", e))?;
        if passkeys.is_empty() {
            return Ok(None);
        }
        let (options, state) = webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(|e| internal("start re-confirmation", e))?;
        let options = serde_json::to_value(&options).map_err(|e| internal("options", e))?;
        let state = serde_json::to_string(&state).map_err(|e| internal("state", e))?;
        let binding = PlainToken::generate();
        challenges::save(conn, &binding, Purpose::Reauth, Some(user_id), &state)?;
        Ok(Some(Started { options, binding }))
    }

    /// Verifies the user's assertion for the ceremony bound to `binding` and
    /// records the passkey's use. `Ok(Ok(()))`: it is them.
    pub fn finish_reauth(
        &self,
        conn: &mut DbConn,
        binding: &PlainToken,
        user_id: i64,
        answer: &PublicKeyCredential,
    ) -> Outcome<()> {
        let webauthn = self.relying_party()?;
        let spent = challenges::spend(conn, binding, Purpose::Reauth)?;
        let Some(spent) = spent.filter(|s| s.user_id == Some(user_id)) else {
            return refuse(Refused::NoChallenge, Some(user_id));
        };
        let state: PasskeyAuthentication =
            serde_json::from_str(&spent.state).map_err(|e| internal("stored state", e))?;
        let found = store::find_by_credential(conn, answer.get_credential_id())?;
        let Some(found) = found.filter(|f| f.user_id == user_id) else {
            return refuse(Refused::UnknownPasskey, Some(user_id));
        };
        let mut passkey: Passkey =
            serde_json::from_str(&found.passkey).map_err(|e| internal("stored passkey", e))?;
        let result = match webauthn.finish_passkey_authentication(answer, &state) {
            Ok(r) => r,
            Err(WebauthnError::CredentialPossibleCompromise) => {
                log::warn!(
                    "passkey {} of user {user_id}: the signature counter went back; refused (a cloned authenticator?)",
                    found.id
                );
                return refuse(Refused::CounterWentBack, Some(user_id));
            }
            Err(e) => {
                log::info!("passkey re-confirmation refused: {e}");
                return refuse(Refused::Invalid, Some(user_id));
            }
        };
        passkey.update_credential(&result);
        let updated = serde_json::to_string(&passkey).map_err(|e| internal("passkey", e))?;
        let now = chrono::Utc::now().naive_utc();
        if !store::record_use(conn, found.id, &found.passkey, &updated, now)? {
            return refuse(Refused::UnknownPasskey, Some(user_id));
        }
        Ok(Ok(()))
    }
}
