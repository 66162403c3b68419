# Fehler, Ablehnungen, Prüfungen und Hinweise auf den Seiten.

error-sign-in = Melden Sie sich an, um fortzufahren.
error-bad-credentials = E-Mail oder Passwort ist falsch.
error-forbidden = Sie haben keinen Zugriff darauf.
error-csrf = Das Formular ist abgelaufen oder kam nicht von dieser Seite. Laden Sie die Seite neu und versuchen Sie es noch einmal.
error-not-found = Nicht gefunden.
error-too-large = Die Anfrage ist zu groß.
error-unavailable = Der Dienst ist vorübergehend nicht erreichbar. Versuchen Sie es gleich noch einmal.
error-busy = Zu viele Anmeldungen gleichzeitig. Versuchen Sie es gleich noch einmal.
error-request-timeout = Die Anfrage kam zu langsam an. Versuchen Sie es noch einmal.
error-rate-limited = Zu viele Versuche. Versuchen Sie es in { $wait } noch einmal.
error-internal = Bei uns ist etwas schiefgegangen.
error-exists = Das gibt es schon.
error-form-unreadable = Das Formular konnte nicht gelesen werden.
error-body-unreadable = Der Inhalt der Anfrage konnte nicht gelesen werden.
error-nul = Die Anfrage enthält ein NUL-Zeichen, das kein Feld annimmt.
error-rfc3339 = Geben Sie eine Zeit nach RFC 3339 an, etwa 2026-12-31T23:59:00Z.

status-400 = Ungültige Anfrage
status-401 = Nicht angemeldet
status-403 = Verboten
status-404 = Nicht gefunden
status-409 = Konflikt
status-413 = Anfrage zu groß
status-422 = Ungültige Eingabe
status-429 = Zu viele Anfragen
status-500 = Interner Fehler
status-502 = Fehlerhaftes Gateway
status-503 = Dienst nicht verfügbar
status-other = Fehler

wait-seconds = { $count ->
    [one] { $count } Sekunde
   *[other] { $count } Sekunden
}
wait-minutes = { $count ->
    [one] { $count } Minute
   *[other] { $count } Minuten
}
wait-hours = { $count ->
    [one] { $count } Stunde
   *[other] { $count } Stunden
}

refused-banned-until = Dieses Konto ist gesperrt bis { $until }.
refused-banned-until-reason = Dieses Konto ist gesperrt bis { $until }. Grund: { $reason }
refused-banned = Dieses Konto ist ohne Enddatum gesperrt.
refused-banned-reason = Dieses Konto ist ohne Enddatum gesperrt. Grund: { $reason }
refused-domain = Die Anmeldung ist auf E-Mail-Adressen der Domains dieser Organisation beschränkt.
refused-unverified = Bestätigen Sie zuerst Ihre E-Mail-Adresse: Öffnen Sie den Link, den wir Ihnen geschickt haben, oder fordern Sie einen neuen an.

invalid-name-empty = Geben Sie einen Namen ein.
invalid-name-long = Ein Name hat höchstens { $max } Zeichen.
invalid-name-control = Ein Name darf keine Steuerzeichen enthalten.
invalid-password-short = Ein Passwort hat mindestens { $min } Zeichen.
invalid-password-long = Ein Passwort hat höchstens { $max } Bytes.
invalid-image-long = Eine Avatar-URL hat höchstens { $max } Zeichen.
invalid-image-scheme = Der Avatar muss eine http://- oder https://-URL sein.
invalid-theme = Wählen Sie light, dark oder system.
invalid-language = Wählen Sie eine Sprache wie en oder pt-BR.
invalid-email-empty = Geben Sie Ihre E-Mail-Adresse ein.
invalid-email-chars = Eine E-Mail-Adresse darf keine Leerzeichen, unsichtbaren oder Steuerzeichen enthalten.
invalid-email = Geben Sie eine gültige E-Mail-Adresse ein.
invalid-email-scripts = Eine E-Mail-Adresse darf vor dem @ keine Alphabete mischen (etwa Lateinisch und Kyrillisch).
invalid-email-dot = Geben Sie eine gültige E-Mail-Adresse ein (der Teil nach dem @ braucht einen Punkt).
invalid-email-long = Eine E-Mail-Adresse hat höchstens { $max } Zeichen.
invalid-no-password = Dieses Konto hat noch kein Passwort.
invalid-same-email = Das ist schon Ihre Adresse. Geben Sie die neue ein.
conflict-email-taken = Es gibt schon ein Konto mit dieser E-Mail-Adresse.
conflict-email-other-account = Diese Adresse gehört einem anderen Konto. Nichts wurde geändert.
wrong-current-password = Ihr aktuelles Passwort stimmt nicht.

saved-profile = Profil gespeichert.
saved-preferences = Vorlieben gespeichert.
saved-password = Passwort geändert. Ihre anderen Geräte wurden abgemeldet.
saved-linked = Dienst verknüpft.
saved-verification = Ein Bestätigungslink ist unterwegs zu Ihrer Adresse.
saved-verified = Ihre Adresse ist bestätigt.
saved-email-change = Wir haben einen Link an Ihre neue Adresse geschickt. Ihre Adresse ändert sich, wenn Sie ihn öffnen (innerhalb von 24 Stunden); bis dahin bleibt sie, wie sie ist.
saved-email = Ihre E-Mail-Adresse ist geändert.
saved-unlinked = Dienst getrennt.
sessions-revoked-one = Die Sitzung wurde abgemeldet.
sessions-revoked-others = Alle anderen Sitzungen wurden abgemeldet.

mail-sent-resend = Wenn ein Konto mit dieser Adresse auf Bestätigung wartet, ist ein neuer Link unterwegs. Öffnen Sie ihn und melden Sie sich dann an.
mail-sent-signed-up = Ihr Konto ist bereit. Öffnen Sie den Link, den wir an Ihre Adresse geschickt haben, um sie zu bestätigen, und melden Sie sich dann an.
mail-sent-signin-link = Wenn diese Adresse ein Konto hat, ist ein Anmeldelink unterwegs. Er funktioniert einmal, 15 Minuten lang.
link-dead-reset = Dieser Link ist ungültig, benutzt oder abgelaufen. Fordern Sie einen neuen an.
link-dead-verify = Dieser Bestätigungslink ist ungültig, benutzt oder abgelaufen. Fordern Sie in den Einstellungen einen neuen an.
link-dead-settings = Dieser Link ist ungültig, benutzt oder abgelaufen. Fordern Sie in den Einstellungen einen neuen an.
link-not-yours = Dieser Link wurde für ein anderes Konto geschickt. Melden Sie sich ab und öffnen Sie ihn erneut, angemeldet mit dem Konto, das die Änderung verlangt hat.

oauth-title-unavailable = Dienst nicht erreichbar
oauth-title-failed = Anmeldung fehlgeschlagen
oauth-title-not-signed-in = Nicht angemeldet
oauth-title-unverified = E-Mail-Adresse nicht bestätigt
oauth-title-exists = Konto existiert bereits
oauth-title-linked = Schon verknüpft
oauth-title-not-linked = Nicht verknüpft
oauth-title-cannot-unlink = Trennen nicht möglich
oauth-unreachable = Wir konnten den Anmeldedienst nicht erreichen. Bitte versuchen Sie es gleich noch einmal.
oauth-unreadable = Die Antwort des Dienstes konnte nicht gelesen werden.
oauth-no-state = Die Antwort des Dienstes hat keinen Status. Bitte beginnen Sie von vorn.
oauth-expired = Diese Anmeldung hat zu lange gedauert und ist abgelaufen. Bitte beginnen Sie von vorn.
oauth-other-browser = Diese Anmeldung wurde in einem anderen Browser begonnen. Bitte beginnen Sie hier von vorn.
oauth-unknown-state = Dieser Anmeldelink ist ungültig oder wurde schon benutzt. Bitte beginnen Sie von vorn.
oauth-cancelled = Sie haben die Anmeldung beim Dienst abgebrochen, daher wurden Sie nicht angemeldet.
oauth-provider-error = Der Dienst hat Sie nicht angemeldet. Bitte versuchen Sie es noch einmal.
oauth-no-code = Die Antwort des Dienstes enthält keinen Code. Bitte beginnen Sie von vorn.
oauth-bad-answer = Der Anmeldedienst hat nicht richtig geantwortet. Bitte versuchen Sie es gleich noch einmal.
oauth-refused = Der Dienst hat diese Anmeldung abgelehnt. Bitte beginnen Sie von vorn.
oauth-id-token = Das Identitätstoken des Dienstes konnte nicht geprüft werden, daher wurden Sie nicht angemeldet.
oauth-no-email = { $provider } hat keine bestätigte E-Mail-Adresse geteilt, die ein neues Konto braucht. Bestätigen Sie eine E-Mail-Adresse bei { $provider } oder registrieren Sie sich mit einem Passwort.
oauth-email-unverified = { $provider } meldet, dass die E-Mail-Adresse dieses Kontos nicht bestätigt ist, daher kann es hier kein Konto anlegen und sich bei keinem anmelden. Bestätigen Sie die Adresse bei { $provider } und versuchen Sie es erneut, oder registrieren Sie sich mit einem Passwort.
oauth-email-in-use = Es gibt schon ein Konto mit dieser E-Mail-Adresse. Melden Sie sich wie gewohnt an und verknüpfen Sie dann { $provider } in den Einstellungen.
oauth-linked-elsewhere = Dieses { $provider }-Konto ist schon mit einem anderen Benutzer verknüpft.
oauth-already-linked = Ihr Konto ist schon mit einem anderen { $provider }-Konto verknüpft. Trennen Sie es zuerst.
oauth-link-session-changed = Sie sind nicht mehr als der Benutzer angemeldet, der die Verknüpfung begonnen hat. Melden Sie sich an und verknüpfen Sie erneut in den Einstellungen.
oauth-only-way = Dies ist Ihr einziger Weg, sich anzumelden. Setzen Sie zuerst ein Passwort oder verknüpfen Sie einen anderen Dienst.

## Two factors
two-factor-wrong-code = Dieser Code stimmt nicht oder wurde schon benutzt. Warten Sie auf den nächsten Code und versuchen Sie es erneut.

# Password policy (issue 12): why a new password is refused, then what helps.
# The warnings and suggestions are zxcvbn's, one key each.
password-feedback-join = { $first } { $rest }
password-weak = Dieses Passwort ist zu leicht zu erraten.
password-warning-personal = Es besteht aus Ihrem Namen oder Ihrer E-Mail-Adresse, und die sind leicht zu erraten.
password-warning-straight-rows = Gerade Tastenreihen sind leicht zu erraten.
password-warning-keyboard-patterns = Kurze Tastaturmuster sind leicht zu erraten.
password-warning-repeats = Wiederholungen wie „aaa“ sind leicht zu erraten.
password-warning-repeated-groups = Wiederholungen wie „abcabcabc“ sind kaum schwerer zu erraten als „abc“.
password-warning-top10 = Dies ist eines der 10 häufigsten Passwörter.
password-warning-top100 = Dies ist eines der 100 häufigsten Passwörter.
password-warning-common = Dies ist ein sehr häufiges Passwort.
password-warning-similar = Dies ähnelt einem häufig verwendeten Passwort.
password-warning-sequences = Folgen wie abc oder 6543 sind leicht zu erraten.
password-warning-recent-years = Jahreszahlen der letzten Jahre sind leicht zu erraten.
password-warning-single-word = Ein einzelnes Wort ist leicht zu erraten.
password-warning-dates = Daten sind oft leicht zu erraten.
password-warning-names-alone = Vor- und Nachnamen allein sind leicht zu erraten.
password-warning-common-names = Häufige Vor- und Nachnamen sind leicht zu erraten.
password-suggestion-generic = Ein längerer Satz aus einigen ungewöhnlichen Wörtern hilft.
password-suggestion-few-words = Verwenden Sie einige Wörter und meiden Sie gängige Redewendungen.
password-suggestion-no-symbols = Sonderzeichen, Ziffern oder Großbuchstaben sind nicht nötig.
password-suggestion-another-word = Fügen Sie ein oder zwei Wörter hinzu. Ungewöhnliche Wörter sind besser.
password-suggestion-capitals = Großschreibung hilft nicht viel.
password-suggestion-all-uppercase = Nur Großbuchstaben sind fast so leicht zu erraten wie nur Kleinbuchstaben.
password-suggestion-reversed = Rückwärts geschriebene Wörter sind kaum schwerer zu erraten.
password-suggestion-substitutions = Vorhersehbare Ersetzungen wie „@“ statt „a“ helfen nicht viel.
password-suggestion-keyboard = Verwenden Sie ein längeres Tastaturmuster mit mehr Richtungswechseln.
password-suggestion-repeats = Meiden Sie wiederholte Wörter und Zeichen.
password-suggestion-sequences = Meiden Sie Folgen.
password-suggestion-recent-years = Meiden Sie Jahreszahlen der letzten Jahre.
password-suggestion-your-years = Meiden Sie Jahreszahlen, die mit Ihnen zu tun haben.
password-suggestion-your-dates = Meiden Sie Daten und Jahreszahlen, die mit Ihnen zu tun haben.

# Fresh sign-in (/reauth) and account deletion (issue 12)
error-reauth-required = Bestätigen Sie zuerst, dass Sie es sind: Diese Änderung braucht eine frische Anmeldung.
reauth-wrong-password = Das ist nicht Ihr Passwort.
reauth-no-password-set = Dieses Konto hat kein Passwort: Melden Sie sich stattdessen erneut an.
delete-email-mismatch = Geben Sie zur Bestätigung genau die E-Mail-Adresse Ihres Kontos ein.
delete-last-admin = Sie sind der einzige Admin: Machen Sie zuerst einen anderen Benutzer zum Admin, bevor Sie Ihr Konto löschen.

## Passkeys (issue 12)
passkey-name-long = Der Name eines Passkeys darf höchstens { $max } Zeichen lang sein.
passkey-name-control = Der Name eines Passkeys darf keine Steuerzeichen enthalten.
passkey-no-challenge = Diese Passkey-Anfrage ist abgelaufen oder wurde schon verwendet. Bitte versuchen Sie es noch einmal.
passkey-invalid = Die Antwort des Passkeys konnte nicht geprüft werden. Bitte versuchen Sie es noch einmal.
passkey-unknown = Dieser Passkey ist hier nicht registriert (vielleicht wurde er entfernt). Bitte melden Sie sich anders an.
passkey-counter = Dieser Passkey wurde abgelehnt: Sein Signaturzähler ist zurückgegangen, was auf eine Kopie hindeuten kann. Bitte melden Sie sich anders an und prüfen Sie Ihre Passkeys.
passkey-already-registered = Dieser Passkey ist bereits registriert.
