# Errors, refusals, validation and notices shown on pages (JSON answers use
# the English text).

error-sign-in = Sign in to continue.
error-bad-credentials = Wrong email or password.
error-forbidden = You do not have access to this.
error-csrf = The form has expired or did not come from this site. Reload the page and try again.
error-not-found = Not found.
error-too-large = The request is too large.
error-unavailable = The service is temporarily unavailable. Try again in a moment.
error-busy = Too many sign-ins at once. Try again in a moment.
error-request-timeout = The request took too long to arrive. Try again.
error-rate-limited = Too many attempts. Try again in { $wait }.
error-internal = Something went wrong on our side.
error-exists = That already exists.
error-form-unreadable = The form could not be read.
error-body-unreadable = The request body could not be read.
error-nul = The request contains a NUL character, which no field accepts.
error-rfc3339 = Use an RFC 3339 time like 2026-12-31T23:59:00Z.

status-400 = Bad Request
status-401 = Unauthorized
status-403 = Forbidden
status-404 = Not Found
status-409 = Conflict
status-413 = Payload Too Large
status-422 = Unprocessable Entity
status-429 = Too Many Requests
status-500 = Internal Server Error
status-502 = Bad Gateway
status-503 = Service Unavailable
status-other = Error

wait-seconds = { $count ->
    [one] { $count } second
   *[other] { $count } seconds
}
wait-minutes = { $count ->
    [one] { $count } minute
   *[other] { $count } minutes
}
wait-hours = { $count ->
    [one] { $count } hour
   *[other] { $count } hours
}

refused-banned-until = This account is banned until { $until }.
refused-banned-until-reason = This account is banned until { $until }. Reason: { $reason }
refused-banned = This account is banned with no end date.
refused-banned-reason = This account is banned with no end date. Reason: { $reason }
refused-domain = Sign-in is limited to email addresses of this organisation's domains.
refused-unverified = Confirm your email address first: open the link we sent you, or ask for a new one.

invalid-name-empty = Enter a name.
invalid-name-long = A name has at most { $max } characters.
invalid-name-control = A name cannot contain control characters.
invalid-password-short = A password has at least { $min } characters.
invalid-password-long = A password has at most { $max } bytes.
invalid-image-long = An avatar URL has at most { $max } characters.
invalid-image-scheme = The avatar must be an http:// or https:// URL.
invalid-theme = Choose light, dark or system.
invalid-language = Choose a language such as en or pt-BR.
invalid-email-empty = Enter your email address.
invalid-email-chars = An email address cannot contain spaces, invisible or control characters.
invalid-email = Enter a valid email address.
invalid-email-scripts = An email address cannot mix alphabets (such as Latin and Cyrillic) before the @.
invalid-email-dot = Enter a valid email address (the part after @ needs a dot).
invalid-email-long = An email address has at most { $max } characters.
invalid-no-password = This account has no password yet.
invalid-same-email = That is already your address. Enter the new one.
conflict-email-taken = An account with this email already exists.
conflict-email-other-account = That address belongs to another account. Nothing changed.
wrong-current-password = Your current password is not right.

saved-profile = Profile saved.
saved-preferences = Preferences saved.
saved-password = Password changed. Your other devices were signed out.
saved-linked = Provider linked.
saved-verification = A confirmation link is on its way to your address.
saved-verified = Your address is confirmed.
saved-email-change = We sent a link to your new address. Your address changes when you open it (within 24 hours); until then it stays as it is.
saved-email = Your email address is changed.
saved-unlinked = Provider unlinked.
sessions-revoked-one = The session was signed out.
sessions-revoked-others = Every other session was signed out.

mail-sent-resend = If that address has an account waiting for confirmation, a new link is on its way. Open it, then sign in.
mail-sent-signed-up = Your account is ready. Open the link we sent to your address to confirm it, then sign in.
mail-sent-signin-link = If that address has an account, a sign-in link is on its way. It works once, for 15 minutes.
link-dead-reset = This link is invalid, used or expired. Ask for a new one.
link-dead-verify = This verification link is invalid, used or expired. Ask for a new one from Settings.
link-dead-settings = This link is invalid, used or expired. Ask for a new one from Settings.
link-not-yours = This link was sent for another account. Sign out, then open it again signed in to the account that asked for the change.

oauth-title-unavailable = Provider unavailable
oauth-title-failed = Sign-in failed
oauth-title-not-signed-in = Not signed in
oauth-title-unverified = Email not verified
oauth-title-exists = Account already exists
oauth-title-linked = Already linked
oauth-title-not-linked = Not linked
oauth-title-cannot-unlink = Cannot unlink
oauth-unreachable = We could not reach the sign-in provider. Please try again in a moment.
oauth-unreadable = The provider's answer could not be read.
oauth-no-state = The provider's answer has no state. Please start again.
oauth-expired = This sign-in took too long and has expired. Please start again.
oauth-other-browser = This sign-in was started in another browser. Please start again here.
oauth-unknown-state = This sign-in link is not valid or was already used. Please start again.
oauth-cancelled = You cancelled the sign-in at the provider, so you were not signed in.
oauth-provider-error = The provider did not sign you in. Please try again.
oauth-no-code = The provider's answer has no code. Please start again.
oauth-bad-answer = The sign-in provider did not answer properly. Please try again in a moment.
oauth-refused = The provider refused this sign-in. Please start again.
oauth-id-token = The provider's identity token could not be verified, so you were not signed in.
oauth-no-email = { $provider } did not share a verified email address, which a new account needs. Verify an email address at { $provider }, or sign up with a password.
oauth-email-unverified = { $provider } says the email address on this account is not verified, so it cannot create an account or sign in to one here. Verify the address at { $provider } and try again, or sign up with a password.
oauth-email-in-use = An account with this email address already exists. Sign in the way you usually do, then link { $provider } under Settings.
oauth-linked-elsewhere = This { $provider } account is already linked to another user.
oauth-already-linked = Your account is already linked to another { $provider } account. Unlink it first.
oauth-link-session-changed = You are no longer signed in as the user who started linking. Sign in and link again from Settings.
oauth-only-way = This is your only way to sign in. Set a password or link another provider first.

## Two factors
two-factor-wrong-code = That code is not right, or it was already used. Wait for the next code and try again.

# Password policy (issue 12): why a new password is refused, then what helps.
# The warnings and suggestions are zxcvbn's, one key each.
password-feedback-join = { $first } { $rest }
password-weak = This password is too easy to guess.
password-warning-personal = It is made from your name or email address, which are easy to guess.
password-warning-straight-rows = Straight rows of keys are easy to guess.
password-warning-keyboard-patterns = Short keyboard patterns are easy to guess.
password-warning-repeats = Repeats like "aaa" are easy to guess.
password-warning-repeated-groups = Repeats like "abcabcabc" are only slightly harder to guess than "abc".
password-warning-top10 = This is a top-10 common password.
password-warning-top100 = This is a top-100 common password.
password-warning-common = This is a very common password.
password-warning-similar = This is similar to a commonly used password.
password-warning-sequences = Sequences like abc or 6543 are easy to guess.
password-warning-recent-years = Recent years are easy to guess.
password-warning-single-word = A word by itself is easy to guess.
password-warning-dates = Dates are often easy to guess.
password-warning-names-alone = Names and surnames by themselves are easy to guess.
password-warning-common-names = Common names and surnames are easy to guess.
password-suggestion-generic = A longer phrase of a few uncommon words helps.
password-suggestion-few-words = Use a few words, avoid common phrases.
password-suggestion-no-symbols = No need for symbols, digits, or uppercase letters.
password-suggestion-another-word = Add another word or two. Uncommon words are better.
password-suggestion-capitals = Capitalization doesn't help very much.
password-suggestion-all-uppercase = All-uppercase is almost as easy to guess as all-lowercase.
password-suggestion-reversed = Reversed words aren't much harder to guess.
password-suggestion-substitutions = Predictable substitutions like "@" instead of "a" don't help very much.
password-suggestion-keyboard = Use a longer keyboard pattern with more turns.
password-suggestion-repeats = Avoid repeated words and characters.
password-suggestion-sequences = Avoid sequences.
password-suggestion-recent-years = Avoid recent years.
password-suggestion-your-years = Avoid years that are associated with you.
password-suggestion-your-dates = Avoid dates and years that are associated with you.

# Fresh sign-in (/reauth) and account deletion (issue 12)
error-reauth-required = Confirm it is you first: this change needs a recent sign-in.
reauth-wrong-password = That is not your password.
reauth-no-password-set = This account has no password: sign in again instead.
delete-email-mismatch = Type your account's email address exactly to confirm.
delete-last-admin = You are the only admin: make another user admin before deleting your account.

## Passkeys (issue 12)
passkey-name-long = A passkey's name can have at most { $max } characters.
passkey-name-control = A passkey's name cannot contain control characters.
passkey-no-challenge = This passkey request expired or was already used. Please try again.
passkey-invalid = The passkey's answer could not be verified. Please try again.
passkey-unknown = This passkey is not registered here (it may have been removed). Please sign in another way.
passkey-counter = This passkey was refused: its signature counter went back, which can mean it was copied. Please sign in another way and check your passkeys.
passkey-already-registered = This passkey is registered already.
