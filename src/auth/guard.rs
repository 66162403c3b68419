//! Guards, in one place: who may reach admin pages and admin JSON.
//! Anonymous: a page answers 303 to `/signin?callbackUrl=…`, JSON 401.
//! Signed in without the right: 403.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::error::{AppError, PageError};
use crate::session::extract::{ApiUser, PageUser, SignedIn};

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
                image: None,
                role: role.into(),
                permissions: effective_permissions(role, grants),
                theme: "system".into(),
                language: "en".into(),
                plan: "free".into(),
            },
            expires_at: chrono::Utc::now(),
            impersonator_id: None,
        }
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
