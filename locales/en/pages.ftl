# The pages: header, banners and each template. English is the source text.

# How dates and times are written (chrono strftime); times are UTC.
datetime-pattern = %B %-d, %Y, %H:%M UTC

nav-settings = Settings
nav-admin = Admin
nav-sign-out = Sign out
nav-sign-in = Sign in
nav-sign-up = Sign up
banner-impersonating = You are acting as { $name } ({ $email }) for support.
banner-stop-impersonating = Return to your account
banner-verify = Please confirm your email address: open the link we sent to { $email }.
banner-resend = Send the link again
back-to-sign-in = Back to sign in
back-to-settings = Back to settings
home = Home

home-title = Home
home-welcome = Welcome, { $name }
home-signed-in-as = You are signed in as
home-changes = What you change in Settings shows on your next page view, in every tab and on every device.
home-about = Sign-in and sessions kept in the database: every request reads your session and your account again, so a change is what the very next request sees, and signing out ends the session everywhere it is used.
home-sign-in = Sign in
home-or = or
home-create-account = create an account

field-email = Email
field-password = Password
field-name = Name
field-new-password = New password
field-current-password = Current password

signin-title = Sign in
signin-submit = Sign in
signin-forgot = Forgot your password?
signin-resend = Send the confirmation link again
signin-link-request = Email me a sign-in link
signin-link-hint = A link that signs you in, valid for 15 minutes. No password needed.
signin-with = Sign in with { $provider }
signin-no-account = No account yet?
signin-ended-signed-out = You signed out on another page or device.
signin-ended-revoked = This session was ended from another device or by an administrator.
signin-ended-banned = This account has been suspended.
signin-ended-password = The password was changed; sign in with the new one.
signin-ended-expired = Your session expired; please sign in again.
signin-ended-deleted = This account has been deleted.

signup-title = Sign up
signup-heading = Create an account
signup-submit = Sign up
signup-have-account = Already have an account?

forgot-title = Forgot your password
forgot-heading = Forgot your password?
forgot-sent = If an account uses that address, a link to choose a new password is on its way. It works for 1 hour.
forgot-submit = Send me a link

reset-title = Choose a new password
reset-submit = Set the password and sign in
reset-hint = Every device signed in to this account will be signed out.
link-dead-heading = This link does not work
reset-dead = This link is invalid, already used or expired. Ask for a new one.
ask-new-link = Ask for a new link

signin-email-title = Sign in by email
signin-email-press = Press the button to sign in to your account on this device.
signin-email-dead = This sign-in link is invalid, already used or expired. Ask for a new one.

mail-sent-title = Check your mail
link-refused-title = Link refused
link-refused-heading = This link is not for this account
oauth-back = Back to sign-in

setup-title = Set up
setup-heading = Create the first admin
setup-intro = This link works once. The account you create here administers this gatehouse.
setup-submit = Create admin

settings-title = Settings
settings-profile = Profile
settings-avatar = Avatar URL
settings-save-profile = Save profile
settings-preferences = Preferences
settings-theme = Theme
settings-language = Language
settings-save-preferences = Save preferences
settings-email = Email
settings-verified = verified
settings-unverified = not verified yet
settings-resend = Send the confirmation link again
settings-change-email = Change email
settings-new-email = New email address
settings-if-password = (if your account has one)
settings-email-hint = We send a link to the new address; your address changes when you open it. Your current address gets a notice.
settings-password = Password
settings-change-password = Change password
settings-password-hint = Changing your password signs out every other device.
settings-security = Sessions and security
settings-sessions-link = Where you are signed in, and your recent security events
settings-providers = Sign-in providers
settings-no-provider = No provider linked.
settings-reauth = sign in with it again to renew access
settings-unlink = Unlink
settings-link = Link { $provider }
theme-light = light
theme-dark = dark
theme-system = system

sessions-title = Sessions
sessions-heading = Where you are signed in
sessions-device = Device
sessions-ip = IP
sessions-signed-in = Signed in
sessions-last-seen = Last seen
sessions-this-device = (this device)
sessions-sign-out = Sign out
sessions-revoke = Revoke
sessions-revoke-others = Sign out everywhere else
sessions-events = Recent security events
sessions-nothing = Nothing yet.

admin = Admin
admin-users-title = Users
admin-audit-link = Audit log
admin-search = Search email or name
admin-search-submit = Search
admin-users-count = { $count } user(s).
admin-sort-by = Sort by
admin-sort-created = created
admin-sort-last-seen = last seen
admin-col-name = Name
admin-col-email = Email
admin-col-role = Role
admin-col-plan = Plan
admin-col-created = Created
admin-col-last-seen = Last seen
admin-banned = banned
admin-page = Page { $page } of { $pages }
admin-previous = Previous
admin-next = Next
admin-all-users = All users
admin-created = created
admin-last-seen = last seen
admin-banned-status = Banned
admin-banned-until = until
admin-role-heading = Role, permissions, plan
admin-role = Role
admin-permissions = Permissions (comma-separated)
admin-plan = Plan
admin-plan-ends = Plan ends (RFC 3339, empty: never)
admin-save = Save
admin-ban = Ban
admin-unban = Unban
admin-reason = Reason
admin-ban-until = Until (RFC 3339, empty: no end)
admin-ban-submit = Ban and sign out everywhere
admin-support = Support
admin-impersonate = Act as this user
admin-impersonate-hint = You will see what they see, with a banner and a way back. It is recorded in the audit log.
admin-sessions = Sessions
admin-revoke = Revoke
admin-revoke-all = Revoke all sessions
admin-recent-events = Recent events
admin-user-events = All of this user's events
admin-saved = Saved: { $what }.

audit-title = Audit log
audit-user = User id
audit-actions = Action(s)
audit-from = From (RFC 3339)
audit-to = To (RFC 3339)
audit-filter = Filter
audit-count = { $count } event(s).
audit-col-time = Time
audit-col-action = Action
audit-col-actor = Actor
audit-col-target = Target
audit-col-ip = IP
audit-col-details = Details
audit-system = system

error-back-home = Back to the home page

live-role = Your role is now { $role }. Some pages may have changed; reload to see them.
live-plan = Your plan is now { $plan }.

## Two factors (TOTP, recovery codes)
settings-security-link = Two-factor sign-in and recovery codes
security-title = Sign-in security
two-factor-heading = Two-factor sign-in
two-factor-on = Two-factor sign-in is on: signing in asks for a code from your authenticator app.
two-factor-off = Two-factor sign-in is off. Turn it on to ask for a code from an authenticator app after your password.
two-factor-recovery-left = Unused recovery codes: { $count }
two-factor-new-codes = Make new recovery codes
two-factor-turn-off = Turn two-factor sign-in off
two-factor-set-up = Set up two-factor sign-in
two-factor-disabled-notice = Two-factor sign-in is off.
two-factor-setup-title = Set up two-factor sign-in
two-factor-setup-scan = Scan this QR code with an authenticator app (for example Aegis, Google Authenticator or 1Password).
two-factor-qr-label = QR code of the authenticator setup link
two-factor-setup-type = Or type this key into the app:
two-factor-open-app = Open in an authenticator app on this device
two-factor-turn-on = Turn on
two-factor-cancel = Cancel
field-code = Code
two-factor-signin-title = Enter your code
two-factor-signin-intro = Open your authenticator app and enter the 6-digit code for this site.
two-factor-code-hint = No phone? Enter one of your recovery codes instead.
two-factor-verify = Verify
two-factor-signin-gone = This sign-in has expired or is finished. Please sign in again.
recovery-codes-title = Your recovery codes
two-factor-enabled-notice = Two-factor sign-in is on.
recovery-codes-once = Keep these codes somewhere safe: each one signs you in once if you lose your authenticator. They are shown only now.
recovery-codes-done = I have saved them
admin-two-factor-on = This user signs in with a second factor (authenticator app).
admin-two-factor-reset = Reset two-factor sign-in (for a lost phone)
admin-two-factor-reset-notice = Two-factor sign-in is reset: this user signs in with a password alone until they turn it on again.

# Fresh sign-in (/reauth), sessions' authentication, account deletion (issue 12)
reauth-title = Confirm it is you
reauth-why = This change needs a recent sign-in. Confirm it is you in one of the ways below.
reauth-submit = Confirm
reauth-with-code = Or enter the code from your authenticator app
reauth-with-password = With your password
reauth-no-password = Your account has no password. To confirm it is you, sign in again: with a service below, or sign out and sign in with a link mailed to you.
reauth-sign-out = Sign out to sign in again
sessions-authenticated = Last confirmed
sessions-aal1 = one factor (aal1)
sessions-aal2 = two factors (aal2)
delete-heading = Delete account
delete-explain = This deletes your account, your sessions on every device, linked services and passkeys. It cannot be undone.
delete-type-email = Type your email address to confirm
delete-submit = Delete my account
home-deleted = Your account has been deleted.


## Passkeys (issue 12)
passkey-signin = Sign in with a passkey
passkey-signin-working = Waiting for your passkey…
passkey-unsupported = This browser does not support passkeys. Please sign in another way, or use a browser that supports them.
passkey-cancelled = No passkey was used. You can try again.
passkey-failed = The passkey did not work. Please try again.
passkey-rate-limited = Too many failed sign-ins from this address. Please wait a while and try again.
passkey-refused = This account may not sign in.
passkeys-title = Passkeys
passkeys-intro = A passkey signs you in with your device's screen lock or a security key: no password, no second factor.
passkeys-none = You have no passkeys yet.
passkeys-col-name = Name
passkeys-created = Added
passkeys-last-used = Last used
passkeys-never = never
passkeys-remove = Remove
passkeys-name = Name (optional)
passkeys-add = Add a passkey
passkeys-add-working = Follow your browser's steps to create the passkey…
passkey-reauth = Confirm with a passkey
