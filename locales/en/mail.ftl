# Mails: plain text. $site is "gatehouse at HOST".

mail-site = gatehouse at { $host }
mail-hello = Hello,
mail-works-until = The link works once, until { $until }.
mail-not-you = If this was not you, ignore this mail: nothing changes unless the link is opened.
mail-subject = { $subject } ({ $site })

mail-verify-subject = Verify your email address
mail-verify-what = Please confirm that this address belongs to your account at { $site } by opening this link:
mail-reset-subject = Reset your password
mail-reset-what = Someone asked to reset the password of your account at { $site }. To choose a new password, open this link:
mail-signin-subject = Sign in
mail-signin-what = Someone asked to sign in to your account at { $site } with this address. To sign in, open this link (it works for 15 minutes) and press the button on its page:
mail-change-subject = Confirm your new email address
mail-change-what = Someone asked to make this the email address of the account { $current } at { $site }. To confirm, open this link while signed in to that account:
mail-notice-subject = A change of your email address was asked
mail-notice-asked = Someone asked to change the email address of your account at { $site } from { $old } to { $new }.
mail-notice-nothing = Nothing changes unless the link we sent to { $new } is opened within 24 hours by someone signed in to your account.
mail-notice-not-you = If this was not you, someone may know your password: change it and sign out the devices you do not know in your settings, { $settings } (if you cannot sign in, the sign-in page offers a reset link).
