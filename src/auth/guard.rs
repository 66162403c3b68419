//! Guards, in one place: who may reach admin pages and admin JSON, and what an
//! impersonating admin may not do.
//! Anonymous: a page answers 303 to `/signin?callbackUrl=…`, JSON 401.
//! Signed in without the right: 403.

use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::AppState;
use crate::audit::{self, Event, action};
use crate::error::{AppError, PageError};
use crate::session::extract::{ApiUser, PageUser, SignedIn, device_of};

/// `Forbidden` (403), with an audit event naming the admin and the user, when
/// this session is an impersonation. Impersonation is for seeing what a user
/// sees, not for holding their credentials: every route that reads or changes
/// a credential (provider tokens, linking and unlinking a provider, password,
/// email, two-factor, passkeys), deletes the account or starts another
/// impersonation calls this first. `what` names the route in the event.
pub async fn refuse_while_impersonating(
    req: &HttpRequest,
    user: &SignedIn,
    what: &'static str,
) -> Result<(), AppError> {
    if user.impersonator_id.is_none() {
        return Ok(());
    }
    if let Some(state) = req.app_data::<Data<AppState>>() {
        let parties = user.audit_parties();
        audit::after(&state.db, device_of(req), move |conn, d| {
            audit::record(
                conn,
                Event::between(parties, action::IMPERSONATION_REFUSED, d)
                    .details(serde_json::json!({ "what": what })),
            )
        })
        .await;
    }
    Err(AppError::Forbidden)
}

/// `Ok` when the signed-in user holds `permission` (from their role or their
/// own grants, read fresh on this request).
pub fn require_permission(user: &SignedIn, permission: &str) -> Result<(), AppError> {
    if user.user.can(permission) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

pub fn require_admin(user: &SignedIn) -> Result<(), AppError> {
    if user.user.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// An admin, for pages.
pub struct AdminPage(pub SignedIn);

impl FromRequest for AdminPage {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = PageUser::from_request(req, payload);
        Box::pin(async move {
            let PageUser(user) = user.await?;
            require_admin(&user)?;
            Ok(AdminPage(user))
        })
    }
}

/// An admin, for JSON.
pub struct AdminApi(pub SignedIn);

impl FromRequest for AdminApi {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = ApiUser::from_request(req, payload);
        Box::pin(async move {
            let ApiUser(user) = user.await?;
            require_admin(&user)?;
            Ok(AdminApi(user))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::{SessionUser, effective_permissions};

    fn signed_in(role: &str, grants: &str) -> SignedIn {
        SignedIn {
            session_id: 1,
            user: SessionUser {
                id: 1,
                name: "n".into(),
                email: "e@example.com".into(),
                email_verified: false,
                two_factor: false,
                image: None,
                role: role.into(),
                permissions: effective_permissions(role, grants),
                theme: "system".into(),
                language: "en".into(),
                plan: "free".into(),
                plan_ends_at: None,
            },
            expires_at: chrono::Utc::now(),
            impersonator_id: None,
            verification_pending: false,
            authenticated_at: chrono::Utc::now(),
            aal: 1,
            app: Default::default(),
        }
    }

    #[actix_web::test]
    async fn impersonation_sessions_are_refused_credential_routes() {
        let req = actix_web::test::TestRequest::default().to_http_request();
        let mut user = signed_in("user", "[]");
        assert!(
            refuse_while_impersonating(&req, &user, "password")
                .await
                .is_ok()
        );
        assert_eq!(user.audit_parties(), (1, 1));
        user.impersonator_id = Some(9);
        assert!(matches!(
            refuse_while_impersonating(&req, &user, "password").await,
            Err(AppError::Forbidden)
        ));
        assert_eq!(user.audit_parties(), (9, 1), "the admin acts on the user");
    }

    #[test]
    fn permissions_come_from_the_role_and_the_users_own_grants() {
        let user = signed_in("user", r#"["reports:read"]"#);
        assert!(require_permission(&user, "reports:read").is_ok());
        assert!(matches!(
            require_permission(&user, "audit:read"),
            Err(AppError::Forbidden)
        ));
        assert!(require_admin(&user).is_err());
        let admin = signed_in("admin", "[]");
        assert!(require_permission(&admin, "audit:read").is_ok());
        assert!(require_admin(&admin).is_ok());
        // A malformed cell grants nothing.
        assert!(require_permission(&signed_in("user", "not json"), "reports:read").is_err());
    }
}
