# Ошибки, отказы, проверки и уведомления на страницах.

error-sign-in = Войдите, чтобы продолжить.
error-bad-credentials = Неверный адрес почты или пароль.
error-forbidden = У вас нет доступа к этому.
error-csrf = Форма устарела или пришла не с этого сайта. Обновите страницу и попробуйте ещё раз.
error-not-found = Не найдено.
error-too-large = Запрос слишком большой.
error-unavailable = Служба временно недоступна. Попробуйте чуть позже.
error-busy = Слишком много входов одновременно. Попробуйте чуть позже.
error-rate-limited = Слишком много попыток. Попробуйте снова через { $wait }.
error-internal = У нас что-то пошло не так.
error-exists = Такое уже есть.
error-form-unreadable = Не удалось прочитать форму.
error-body-unreadable = Не удалось прочитать тело запроса.
error-nul = Запрос содержит символ NUL, который не принимает ни одно поле.
error-rfc3339 = Укажите время в формате RFC 3339, например 2026-12-31T23:59:00Z.

status-400 = Неверный запрос
status-401 = Требуется вход
status-403 = Доступ запрещён
status-404 = Не найдено
status-409 = Конфликт
status-413 = Слишком большой запрос
status-422 = Неверные данные
status-429 = Слишком много запросов
status-500 = Внутренняя ошибка
status-502 = Ошибка шлюза
status-503 = Служба недоступна
status-other = Ошибка

wait-seconds = { $count ->
    [one] { $count } секунду
    [few] { $count } секунды
   *[many] { $count } секунд
}
wait-minutes = { $count ->
    [one] { $count } минуту
    [few] { $count } минуты
   *[many] { $count } минут
}
wait-hours = { $count ->
    [one] { $count } час
    [few] { $count } часа
   *[many] { $count } часов
}

refused-banned-until = Эта учётная запись заблокирована до { $until }.
refused-banned-until-reason = Эта учётная запись заблокирована до { $until }. Причина: { $reason }
refused-banned = Эта учётная запись заблокирована бессрочно.
refused-banned-reason = Эта учётная запись заблокирована бессрочно. Причина: { $reason }
refused-domain = Вход разрешён только с адресами почты в доменах этой организации.
refused-unverified = Сначала подтвердите адрес почты: откройте ссылку, которую мы вам отправили, или запросите новую.

invalid-name-empty = Введите имя.
invalid-name-long = Имя может содержать не более { $max } символов.
invalid-name-control = Имя не может содержать управляющие символы.
invalid-password-short = Пароль должен содержать не менее { $min } символов.
invalid-password-long = Пароль может занимать не более { $max } байт.
invalid-image-long = Адрес аватара может содержать не более { $max } символов.
invalid-image-scheme = Аватар должен быть адресом http:// или https://.
invalid-theme = Выберите light, dark или system.
invalid-language = Выберите язык, например en или pt-BR.
invalid-email-empty = Введите адрес электронной почты.
invalid-email-chars = Адрес почты не может содержать пробелы, невидимые или управляющие символы.
invalid-email = Введите правильный адрес электронной почты.
invalid-email-scripts = В адресе почты до @ нельзя смешивать алфавиты (например, латиницу и кириллицу).
invalid-email-dot = Введите правильный адрес электронной почты (в части после @ нужна точка).
invalid-email-long = Адрес почты может содержать не более { $max } символов.
invalid-no-password = У этой учётной записи ещё нет пароля.
invalid-same-email = Это уже ваш адрес. Введите новый.
conflict-email-taken = Учётная запись с этим адресом уже существует.
conflict-email-other-account = Этот адрес принадлежит другой учётной записи. Ничего не изменилось.
wrong-current-password = Текущий пароль указан неверно.

saved-profile = Профиль сохранён.
saved-preferences = Предпочтения сохранены.
saved-password = Пароль изменён. На других устройствах выполнен выход.
saved-linked = Служба привязана.
saved-verification = Ссылка для подтверждения отправлена на ваш адрес.
saved-verified = Ваш адрес подтверждён.
saved-email-change = Мы отправили ссылку на ваш новый адрес. Адрес сменится, когда вы её откроете (в течение 24 часов); до тех пор он остаётся прежним.
saved-email = Ваш адрес электронной почты изменён.
saved-unlinked = Служба отвязана.
sessions-revoked-one = Сеанс завершён.
sessions-revoked-others = Все остальные сеансы завершены.

mail-sent-resend = Если учётная запись с этим адресом ждёт подтверждения, новая ссылка уже в пути. Откройте её, затем войдите.
mail-sent-signed-up = Учётная запись готова. Откройте ссылку, которую мы отправили на ваш адрес, чтобы подтвердить его, затем войдите.
mail-sent-signin-link = Если у этого адреса есть учётная запись, ссылка для входа уже в пути. Она работает один раз, 15 минут.
link-dead-reset = Эта ссылка недействительна, использована или устарела. Запросите новую.
link-dead-verify = Эта ссылка для подтверждения недействительна, использована или устарела. Запросите новую в настройках.
link-dead-settings = Эта ссылка недействительна, использована или устарела. Запросите новую в настройках.
link-not-yours = Эта ссылка отправлена для другой учётной записи. Выйдите и откройте её снова, войдя в учётную запись, которая просила смену.

oauth-title-unavailable = Служба недоступна
oauth-title-failed = Вход не удался
oauth-title-not-signed-in = Вход не выполнен
oauth-title-unverified = Адрес почты не подтверждён
oauth-title-exists = Учётная запись уже существует
oauth-title-linked = Уже привязано
oauth-title-not-linked = Не привязано
oauth-title-cannot-unlink = Нельзя отвязать
oauth-unreachable = Не удалось связаться со службой входа. Попробуйте чуть позже.
oauth-unreadable = Не удалось прочитать ответ службы.
oauth-no-state = В ответе службы нет состояния. Начните заново.
oauth-expired = Вход длился слишком долго, и его срок истёк. Начните заново.
oauth-other-browser = Этот вход начат в другом браузере. Начните заново здесь.
oauth-unknown-state = Эта ссылка для входа недействительна или уже использована. Начните заново.
oauth-cancelled = Вы отменили вход в службе, поэтому вход не выполнен.
oauth-provider-error = Служба не выполнила вход. Попробуйте ещё раз.
oauth-no-code = В ответе службы нет кода. Начните заново.
oauth-bad-answer = Служба входа ответила неправильно. Попробуйте чуть позже.
oauth-refused = Служба отклонила этот вход. Начните заново.
oauth-id-token = Не удалось проверить токен удостоверения службы, поэтому вход не выполнен.
oauth-no-email = { $provider } не передал подтверждённый адрес почты, который нужен новой учётной записи. Подтвердите адрес в { $provider } или зарегистрируйтесь с паролем.
oauth-email-unverified = По данным { $provider }, адрес почты этой учётной записи не подтверждён, поэтому с ним нельзя здесь ни создать учётную запись, ни войти. Подтвердите адрес в { $provider } и попробуйте снова или зарегистрируйтесь с паролем.
oauth-email-in-use = Учётная запись с этим адресом уже существует. Войдите как обычно, затем привяжите { $provider } в настройках.
oauth-linked-elsewhere = Эта учётная запись { $provider } уже привязана к другому пользователю.
oauth-already-linked = К вашей учётной записи уже привязана другая учётная запись { $provider }. Сначала отвяжите её.
oauth-link-session-changed = Вы больше не вошли как пользователь, начавший привязку. Войдите и привяжите снова в настройках.
oauth-only-way = Это ваш единственный способ входа. Сначала задайте пароль или привяжите другую службу.

## Two factors
two-factor-wrong-code = Код неверен или уже использован. Дождитесь следующего кода и попробуйте снова.

# Password policy (issue 12): why a new password is refused, then what helps.
# The warnings and suggestions are zxcvbn's, one key each.
password-feedback-join = { $first } { $rest }
password-weak = Этот пароль слишком легко угадать.
password-warning-personal = Он составлен из вашего имени или адреса электронной почты, а их легко угадать.
password-warning-straight-rows = Прямые ряды клавиш легко угадать.
password-warning-keyboard-patterns = Короткие узоры на клавиатуре легко угадать.
password-warning-repeats = Повторы вроде «aaa» легко угадать.
password-warning-repeated-groups = Повторы вроде «abcabcabc» угадать лишь немногим труднее, чем «abc».
password-warning-top10 = Это один из 10 самых распространённых паролей.
password-warning-top100 = Это один из 100 самых распространённых паролей.
password-warning-common = Это очень распространённый пароль.
password-warning-similar = Этот пароль похож на часто используемый.
password-warning-sequences = Последовательности вроде abc или 6543 легко угадать.
password-warning-recent-years = Недавние годы легко угадать.
password-warning-single-word = Одно слово само по себе легко угадать.
password-warning-dates = Даты часто легко угадать.
password-warning-names-alone = Имена и фамилии сами по себе легко угадать.
password-warning-common-names = Распространённые имена и фамилии легко угадать.
password-suggestion-generic = Помогает более длинная фраза из нескольких необычных слов.
password-suggestion-few-words = Используйте несколько слов, избегайте распространённых фраз.
password-suggestion-no-symbols = Символы, цифры и заглавные буквы не обязательны.
password-suggestion-another-word = Добавьте ещё одно-два слова. Необычные слова лучше.
password-suggestion-capitals = Заглавные буквы мало помогают.
password-suggestion-all-uppercase = Пароль из одних заглавных букв угадать почти так же легко, как из одних строчных.
password-suggestion-reversed = Слова задом наперёд угадать ненамного труднее.
password-suggestion-substitutions = Предсказуемые замены вроде «@» вместо «a» мало помогают.
password-suggestion-keyboard = Используйте более длинный узор на клавиатуре с большим числом поворотов.
password-suggestion-repeats = Избегайте повторяющихся слов и символов.
password-suggestion-sequences = Избегайте последовательностей.
password-suggestion-recent-years = Избегайте недавних годов.
password-suggestion-your-years = Избегайте годов, связанных с вами.
password-suggestion-your-dates = Избегайте дат и годов, связанных с вами.

# Fresh sign-in (/reauth) and account deletion (issue 12)
error-reauth-required = Сначала подтвердите, что это вы: для этого изменения нужен недавний вход.
reauth-wrong-password = Это не ваш пароль.
reauth-no-password-set = У этой учётной записи нет пароля: вместо этого войдите заново.
delete-email-mismatch = Для подтверждения введите адрес электронной почты вашей учётной записи в точности.
delete-last-admin = Вы единственный администратор: прежде чем удалить учётную запись, назначьте администратором другого пользователя.
