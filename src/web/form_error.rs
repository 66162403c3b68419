//! The error a form comes back with, and the field it belongs to when the
//! handler knows it. The page shows the message above the form
//! (`id="form-error"`) and again under that field (`id="<field>-error"`), which
//! carries `aria-invalid` and `aria-describedby` (see the templates).

use std::fmt;

use crate::error::AppError;
use crate::i18n::Msg;

pub struct FormError {
    /// Put in the reader's language by the template (`head.t.msg`).
    pub message: Msg,
    /// The form field name (`email`, `new_password`), when one field is wrong.
    pub field: Option<&'static str>,
}

impl FormError {
    /// The error's message, tied to the field an `Invalid` error names.
    pub fn of(e: &AppError) -> Self {
        FormError {
            message: e.msg(),
            field: match e {
                AppError::Invalid { field, .. } => Some(*field),
                _ => None,
            },
        }
    }

    /// The error's message, tied to `field` unless the error names another
    /// (a taken address is the `email` field's; a wrong current password is
    /// `current_password`'s).
    pub fn at(field: &'static str, e: &AppError) -> Self {
        let mut error = FormError::of(e);
        error.field.get_or_insert(field);
        error
    }
}

impl AsRef<Msg> for FormError {
    fn as_ref(&self) -> &Msg {
        &self.message
    }
}

/// English.
impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.message.fmt(f)
    }
}

/// For the templates: `{% if let Some(m) = error.on("email") %}`.
pub trait FieldError {
    /// The message when `field` is the wrong one.
    fn on(&self, field: &str) -> Option<&Msg>;
}

impl FieldError for Option<FormError> {
    fn on(&self, field: &str) -> Option<&Msg> {
        self.as_ref()
            .filter(|e| e.field == Some(field))
            .map(|e| &e.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_belongs_to_the_field_it_names() {
        let e = Some(FormError::of(&AppError::invalid(
            "email",
            "Not an address.",
        )));
        assert_eq!(e.on("email"), Some(&Msg::from("Not an address.")));
        assert_eq!(e.on("name"), None);
        let taken = Some(FormError::at("email", &AppError::Conflict("Taken.".into())));
        assert_eq!(taken.on("email"), Some(&Msg::from("Taken.")));
        let weak = FormError::at("email", &AppError::invalid("password", "Too short."));
        assert_eq!(weak.field, Some("password"), "the error's own field wins");
        let busy = FormError::of(&AppError::Busy);
        assert_eq!(busy.to_string(), AppError::Busy.message());
        assert_eq!(Some(busy).on("email"), None);
        assert_eq!(None::<FormError>.on("email"), None);
    }
}
