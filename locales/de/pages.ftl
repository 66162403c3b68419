# Die Seiten: Kopfzeile, Hinweise und jede Vorlage.

datetime-pattern = %d.%m.%Y, %H:%M UTC

nav-settings = Einstellungen
nav-admin = Verwaltung
nav-sign-out = Abmelden
nav-sign-in = Anmelden
nav-sign-up = Registrieren
banner-impersonating = Sie handeln als { $name } ({ $email }), um zu helfen.
banner-stop-impersonating = Zurück zu Ihrem Konto
banner-verify = Bitte bestätigen Sie Ihre E-Mail-Adresse: Öffnen Sie den Link, den wir an { $email } geschickt haben.
banner-resend = Link erneut senden
back-to-sign-in = Zurück zur Anmeldung
back-to-settings = Zurück zu den Einstellungen
home = Startseite

home-title = Startseite
home-welcome = Willkommen, { $name }
home-signed-in-as = Sie sind angemeldet als
home-changes = Was Sie in den Einstellungen ändern, sehen Sie beim nächsten Seitenaufruf, in jedem Tab und auf jedem Gerät.
home-about = Anmeldung und Sitzungen in der Datenbank: Jede Anfrage liest Ihre Sitzung und Ihr Konto neu, so sieht schon die nächste Anfrage jede Änderung, und die Abmeldung beendet die Sitzung überall, wo sie benutzt wird.
home-sign-in = Anmelden
home-or = oder
home-create-account = ein Konto anlegen

field-email = E-Mail
field-password = Passwort
field-name = Name
field-new-password = Neues Passwort
field-current-password = Aktuelles Passwort

signin-title = Anmelden
signin-submit = Anmelden
signin-forgot = Passwort vergessen?
signin-resend = Bestätigungslink erneut senden
signin-link-request = Anmeldelink per E-Mail senden
signin-link-hint = Ein Link, der Sie anmeldet, 15 Minuten gültig. Kein Passwort nötig.
signin-with = Mit { $provider } anmelden
signin-no-account = Noch kein Konto?
signin-ended-signed-out = Sie haben sich auf einer anderen Seite oder einem anderen Gerät abgemeldet.
signin-ended-revoked = Diese Sitzung wurde von einem anderen Gerät oder von einem Administrator beendet.
signin-ended-banned = Dieses Konto wurde gesperrt.
signin-ended-password = Das Passwort wurde geändert; melden Sie sich mit dem neuen an.
signin-ended-expired = Ihre Sitzung ist abgelaufen; bitte melden Sie sich erneut an.
signin-ended-deleted = Dieses Konto wurde gelöscht.

signup-title = Registrieren
signup-heading = Konto anlegen
signup-submit = Registrieren
signup-have-account = Sie haben schon ein Konto?

forgot-title = Passwort vergessen
forgot-heading = Passwort vergessen?
forgot-sent = Wenn ein Konto diese Adresse nutzt, ist ein Link zum Wählen eines neuen Passworts unterwegs. Er gilt 1 Stunde.
forgot-submit = Link senden

reset-title = Neues Passwort wählen
reset-submit = Passwort setzen und anmelden
reset-hint = Jedes Gerät, das mit diesem Konto angemeldet ist, wird abgemeldet.
link-dead-heading = Dieser Link funktioniert nicht
reset-dead = Dieser Link ist ungültig, schon benutzt oder abgelaufen. Fordern Sie einen neuen an.
ask-new-link = Neuen Link anfordern

signin-email-title = Anmeldung per E-Mail
signin-email-press = Drücken Sie den Knopf, um sich auf diesem Gerät bei Ihrem Konto anzumelden.
signin-email-dead = Dieser Anmeldelink ist ungültig, schon benutzt oder abgelaufen. Fordern Sie einen neuen an.

mail-sent-title = Sehen Sie in Ihre E-Mails
link-refused-title = Link abgelehnt
link-refused-heading = Dieser Link ist nicht für dieses Konto
oauth-back = Zurück zur Anmeldung

setup-title = Einrichtung
setup-heading = Den ersten Administrator anlegen
setup-intro = Dieser Link funktioniert einmal. Das Konto, das Sie hier anlegen, verwaltet dieses gatehouse.
setup-submit = Administrator anlegen

settings-title = Einstellungen
settings-profile = Profil
settings-avatar = Avatar-URL
settings-save-profile = Profil speichern
settings-preferences = Vorlieben
settings-theme = Design
settings-language = Sprache
settings-save-preferences = Vorlieben speichern
settings-email = E-Mail
settings-verified = bestätigt
settings-unverified = noch nicht bestätigt
settings-resend = Bestätigungslink erneut senden
settings-change-email = E-Mail-Adresse ändern
settings-new-email = Neue E-Mail-Adresse
settings-if-password = (falls Ihr Konto eines hat)
settings-email-hint = Wir senden einen Link an die neue Adresse; Ihre Adresse ändert sich, wenn Sie ihn öffnen. Ihre jetzige Adresse bekommt eine Nachricht.
settings-password = Passwort
settings-change-password = Passwort ändern
settings-password-hint = Eine Änderung des Passworts meldet alle anderen Geräte ab.
settings-security = Sitzungen und Sicherheit
settings-sessions-link = Wo Sie angemeldet sind, und Ihre letzten Sicherheitsereignisse
settings-providers = Anmeldedienste
settings-no-provider = Kein Dienst verknüpft.
settings-reauth = melden Sie sich erneut damit an, um den Zugriff zu erneuern
settings-unlink = Trennen
settings-link = { $provider } verknüpfen
theme-light = hell
theme-dark = dunkel
theme-system = wie das System

sessions-title = Sitzungen
sessions-heading = Wo Sie angemeldet sind
sessions-device = Gerät
sessions-ip = IP
sessions-signed-in = Angemeldet
sessions-last-seen = Zuletzt gesehen
sessions-this-device = (dieses Gerät)
sessions-sign-out = Abmelden
sessions-revoke = Beenden
sessions-revoke-others = Überall sonst abmelden
sessions-events = Letzte Sicherheitsereignisse
sessions-nothing = Noch nichts.

admin = Verwaltung
admin-users-title = Benutzer
admin-audit-link = Protokoll
admin-search = E-Mail oder Name suchen
admin-search-submit = Suchen
admin-users-count = { $count } Benutzer.
admin-sort-by = Sortieren nach
admin-sort-created = angelegt
admin-sort-last-seen = zuletzt gesehen
admin-col-name = Name
admin-col-email = E-Mail
admin-col-role = Rolle
admin-col-plan = Tarif
admin-col-created = Angelegt
admin-col-last-seen = Zuletzt gesehen
admin-banned = gesperrt
admin-page = Seite { $page } von { $pages }
admin-previous = Zurück
admin-next = Weiter
admin-all-users = Alle Benutzer
admin-created = angelegt
admin-last-seen = zuletzt gesehen
admin-banned-status = Gesperrt
admin-banned-until = bis
admin-role-heading = Rolle, Rechte, Tarif
admin-role = Rolle
admin-permissions = Rechte (durch Kommas getrennt)
admin-plan = Tarif
admin-plan-ends = Tarif endet (RFC 3339, leer: nie)
admin-save = Speichern
admin-ban = Sperren
admin-unban = Entsperren
admin-reason = Grund
admin-ban-until = Bis (RFC 3339, leer: ohne Ende)
admin-ban-submit = Sperren und überall abmelden
admin-support = Hilfe
admin-impersonate = Als dieser Benutzer handeln
admin-impersonate-hint = Sie sehen, was der Benutzer sieht, mit einem Hinweis und einem Weg zurück. Es wird im Protokoll festgehalten.
admin-sessions = Sitzungen
admin-revoke = Beenden
admin-revoke-all = Alle Sitzungen beenden
admin-recent-events = Letzte Ereignisse
admin-user-events = Alle Ereignisse dieses Benutzers
admin-saved = Gespeichert: { $what }.

audit-title = Protokoll
audit-user = Benutzer-ID
audit-actions = Aktion(en)
audit-from = Von (RFC 3339)
audit-to = Bis (RFC 3339)
audit-filter = Filtern
audit-count = { $count } Ereignis(se).
audit-col-time = Zeit
audit-col-action = Aktion
audit-col-actor = Handelnder
audit-col-target = Ziel
audit-col-ip = IP
audit-col-details = Details
audit-system = System

error-back-home = Zurück zur Startseite

live-role = Ihre Rolle ist jetzt { $role }. Manche Seiten haben sich vielleicht geändert; laden Sie neu, um sie zu sehen.
live-plan = Ihr Tarif ist jetzt { $plan }.

## Two factors (TOTP, recovery codes)
settings-security-link = Zwei-Faktor-Anmeldung und Wiederherstellungscodes
security-title = Sicherheit der Anmeldung
two-factor-heading = Zwei-Faktor-Anmeldung
two-factor-on = Die Zwei-Faktor-Anmeldung ist an: Bei der Anmeldung wird ein Code aus Ihrer Authenticator-App verlangt.
two-factor-off = Die Zwei-Faktor-Anmeldung ist aus. Schalten Sie sie ein, um nach dem Passwort einen Code aus einer Authenticator-App zu verlangen.
two-factor-recovery-left = Unbenutzte Wiederherstellungscodes: { $count }
two-factor-new-codes = Neue Wiederherstellungscodes erzeugen
two-factor-turn-off = Zwei-Faktor-Anmeldung ausschalten
two-factor-set-up = Zwei-Faktor-Anmeldung einrichten
two-factor-disabled-notice = Die Zwei-Faktor-Anmeldung ist aus.
two-factor-setup-title = Zwei-Faktor-Anmeldung einrichten
two-factor-setup-scan = Scannen Sie diesen QR-Code mit einer Authenticator-App (zum Beispiel Aegis, Google Authenticator oder 1Password).
two-factor-qr-label = QR-Code des Einrichtungslinks
two-factor-setup-type = Oder geben Sie diesen Schlüssel in der App ein:
two-factor-open-app = In einer Authenticator-App auf diesem Gerät öffnen
two-factor-turn-on = Einschalten
two-factor-cancel = Abbrechen
field-code = Code
two-factor-signin-title = Code eingeben
two-factor-signin-intro = Öffnen Sie Ihre Authenticator-App und geben Sie den 6-stelligen Code für diese Seite ein.
two-factor-code-hint = Kein Telefon zur Hand? Geben Sie stattdessen einen Ihrer Wiederherstellungscodes ein.
two-factor-verify = Bestätigen
two-factor-signin-gone = Diese Anmeldung ist abgelaufen oder abgeschlossen. Bitte melden Sie sich erneut an.
recovery-codes-title = Ihre Wiederherstellungscodes
two-factor-enabled-notice = Die Zwei-Faktor-Anmeldung ist an.
recovery-codes-once = Bewahren Sie diese Codes sicher auf: Jeder meldet Sie einmal an, falls Sie Ihre Authenticator-App verlieren. Sie werden nur jetzt angezeigt.
recovery-codes-done = Ich habe sie gespeichert
admin-two-factor-on = Diese Person meldet sich mit einem zweiten Faktor (Authenticator-App) an.
admin-two-factor-reset = Zwei-Faktor-Anmeldung zurücksetzen (bei verlorenem Telefon)
admin-two-factor-reset-notice = Die Zwei-Faktor-Anmeldung ist zurückgesetzt: Diese Person meldet sich nur mit dem Passwort an, bis sie sie wieder einschaltet.

# Fresh sign-in (/reauth), sessions' authentication, account deletion (issue 12)
reauth-title = Bestätigen Sie, dass Sie es sind
reauth-why = Diese Änderung braucht eine frische Anmeldung. Bestätigen Sie auf eine der folgenden Arten, dass Sie es sind.
reauth-submit = Bestätigen
reauth-with-code = Oder geben Sie den Code aus Ihrer Authenticator-App ein
reauth-with-password = Mit Ihrem Passwort
reauth-no-password = Ihr Konto hat kein Passwort. Um zu bestätigen, dass Sie es sind, melden Sie sich erneut an: mit einem Dienst unten, oder melden Sie sich ab und mit einem zugesandten Link wieder an.
reauth-sign-out = Abmelden, um sich erneut anzumelden
sessions-authenticated = Zuletzt bestätigt
sessions-aal1 = ein Faktor (aal1)
sessions-aal2 = zwei Faktoren (aal2)
delete-heading = Konto löschen
delete-explain = Dies löscht Ihr Konto, Ihre Sitzungen auf allen Geräten, verknüpfte Dienste und Passkeys. Es lässt sich nicht rückgängig machen.
delete-type-email = Geben Sie zur Bestätigung Ihre E-Mail-Adresse ein
delete-submit = Mein Konto löschen
home-deleted = Ihr Konto wurde gelöscht.


## Passkeys (issue 12)
passkey-signin = Mit einem Passkey anmelden
passkey-signin-working = Warte auf Ihren Passkey…
passkey-unsupported = Dieser Browser unterstützt keine Passkeys. Bitte melden Sie sich anders an oder verwenden Sie einen Browser, der sie unterstützt.
passkey-cancelled = Es wurde kein Passkey verwendet. Sie können es noch einmal versuchen.
passkey-failed = Der Passkey hat nicht funktioniert. Bitte versuchen Sie es noch einmal.
passkey-rate-limited = Zu viele fehlgeschlagene Anmeldungen von dieser Adresse. Bitte warten Sie eine Weile und versuchen Sie es dann noch einmal.
passkey-refused = Dieses Konto darf sich nicht anmelden.
passkeys-title = Passkeys
passkeys-intro = Mit einem Passkey melden Sie sich über die Displaysperre Ihres Geräts oder einen Sicherheitsschlüssel an: ohne Passwort und ohne zweiten Faktor.
passkeys-none = Sie haben noch keine Passkeys.
passkeys-col-name = Name
passkeys-created = Hinzugefügt
passkeys-last-used = Zuletzt verwendet
passkeys-never = nie
passkeys-remove = Entfernen
passkeys-name = Name (optional)
passkeys-add = Passkey hinzufügen
passkeys-add-working = Folgen Sie den Schritten Ihres Browsers, um den Passkey zu erstellen…
passkey-reauth = Mit einem Passkey bestätigen
