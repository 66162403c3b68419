# E-Mails: reiner Text.

mail-site = gatehouse auf { $host }
mail-hello = Hallo,
mail-works-until = Der Link funktioniert einmal, bis { $until }.
mail-not-you = Wenn Sie das nicht waren, ignorieren Sie diese E-Mail: Nichts ändert sich, solange der Link nicht geöffnet wird.
mail-subject = { $subject } ({ $site })

mail-verify-subject = Bestätigen Sie Ihre E-Mail-Adresse
mail-verify-what = Bitte bestätigen Sie, dass diese Adresse zu Ihrem Konto bei { $site } gehört, indem Sie diesen Link öffnen:
mail-reset-subject = Setzen Sie Ihr Passwort zurück
mail-reset-what = Jemand hat verlangt, das Passwort Ihres Kontos bei { $site } zurückzusetzen. Um ein neues Passwort zu wählen, öffnen Sie diesen Link:
mail-signin-subject = Anmelden
mail-signin-what = Jemand möchte sich mit dieser Adresse bei Ihrem Konto bei { $site } anmelden. Um sich anzumelden, öffnen Sie diesen Link (er gilt 15 Minuten) und drücken Sie den Knopf auf seiner Seite:
mail-change-subject = Bestätigen Sie Ihre neue E-Mail-Adresse
mail-change-what = Jemand möchte diese Adresse zur E-Mail-Adresse des Kontos { $current } bei { $site } machen. Zum Bestätigen öffnen Sie diesen Link, während Sie mit diesem Konto angemeldet sind:
mail-notice-subject = Eine Änderung Ihrer E-Mail-Adresse wurde verlangt
mail-notice-asked = Jemand möchte die E-Mail-Adresse Ihres Kontos bei { $site } von { $old } in { $new } ändern.
mail-notice-nothing = Nichts ändert sich, solange der Link, den wir an { $new } geschickt haben, nicht innerhalb von 24 Stunden von jemandem geöffnet wird, der mit Ihrem Konto angemeldet ist.
mail-notice-not-you = Wenn Sie das nicht waren, kennt jemand vielleicht Ihr Passwort: Ändern Sie es und melden Sie die Geräte ab, die Sie nicht kennen, in Ihren Einstellungen, { $settings } (wenn Sie sich nicht anmelden können, bietet die Anmeldeseite einen Link zum Zurücksetzen an).
