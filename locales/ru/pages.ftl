# Страницы: шапка, уведомления и каждый шаблон.

datetime-pattern = %d.%m.%Y, %H:%M UTC

nav-settings = Настройки
nav-admin = Администрирование
nav-sign-out = Выйти
nav-sign-in = Войти
nav-sign-up = Зарегистрироваться
banner-impersonating = Вы действуете как { $name } ({ $email }), чтобы помочь.
banner-stop-impersonating = Вернуться в свою учётную запись
banner-verify = Подтвердите адрес электронной почты: откройте ссылку, которую мы отправили на { $email }.
banner-resend = Отправить ссылку ещё раз
back-to-sign-in = Назад ко входу
back-to-settings = Назад к настройкам
home = Главная

home-title = Главная
home-welcome = Добро пожаловать, { $name }
home-signed-in-as = Вы вошли как
home-changes = Что вы меняете в настройках, видно при следующем открытии страницы, во всех вкладках и на всех устройствах.
home-about = Вход и сеансы хранятся в базе данных: каждый запрос заново читает ваш сеанс и вашу учётную запись, поэтому изменение видно уже в следующем запросе, а выход завершает сеанс везде, где он используется.
home-sign-in = Войти
home-or = или
home-create-account = создать учётную запись

field-email = Электронная почта
field-password = Пароль
field-name = Имя
field-new-password = Новый пароль
field-current-password = Текущий пароль

signin-title = Вход
signin-submit = Войти
signin-forgot = Забыли пароль?
signin-resend = Отправить ссылку для подтверждения ещё раз
signin-link-request = Прислать ссылку для входа
signin-link-hint = Ссылка, по которой вы войдёте, действует 15 минут. Пароль не нужен.
signin-with = Войти через { $provider }
signin-no-account = Ещё нет учётной записи?
signin-ended-signed-out = Вы вышли на другой странице или другом устройстве.
signin-ended-revoked = Этот сеанс завершён с другого устройства или администратором.
signin-ended-banned = Эта учётная запись заблокирована.
signin-ended-password = Пароль изменён; войдите с новым паролем.
signin-ended-expired = Срок сеанса истёк; войдите снова.
signin-ended-deleted = Эта учётная запись удалена.

signup-title = Регистрация
signup-heading = Создать учётную запись
signup-submit = Зарегистрироваться
signup-have-account = Уже есть учётная запись?

forgot-title = Забыли пароль
forgot-heading = Забыли пароль?
forgot-sent = Если этот адрес принадлежит учётной записи, ссылка для выбора нового пароля уже в пути. Она действует 1 час.
forgot-submit = Прислать ссылку

reset-title = Новый пароль
reset-submit = Задать пароль и войти
reset-hint = Все устройства, на которых выполнен вход в эту учётную запись, выйдут из неё.
link-dead-heading = Эта ссылка не работает
reset-dead = Эта ссылка недействительна, уже использована или устарела. Запросите новую.
ask-new-link = Запросить новую ссылку

signin-email-title = Вход по почте
signin-email-press = Нажмите кнопку, чтобы войти в свою учётную запись на этом устройстве.
signin-email-dead = Эта ссылка для входа недействительна, уже использована или устарела. Запросите новую.

mail-sent-title = Проверьте почту
link-refused-title = Ссылка отклонена
link-refused-heading = Эта ссылка не для этой учётной записи
oauth-back = Назад ко входу

setup-title = Настройка
setup-heading = Создайте первого администратора
setup-intro = Эта ссылка работает один раз. Учётная запись, которую вы здесь создадите, управляет этим gatehouse.
setup-submit = Создать администратора

settings-title = Настройки
settings-profile = Профиль
settings-avatar = Адрес аватара
settings-save-profile = Сохранить профиль
settings-preferences = Предпочтения
settings-theme = Тема
settings-language = Язык
settings-save-preferences = Сохранить предпочтения
settings-email = Электронная почта
settings-verified = подтверждён
settings-unverified = ещё не подтверждён
settings-resend = Отправить ссылку для подтверждения ещё раз
settings-change-email = Сменить адрес
settings-new-email = Новый адрес электронной почты
settings-if-password = (если он есть у вашей учётной записи)
settings-email-hint = Мы отправим ссылку на новый адрес; адрес сменится, когда вы её откроете. На текущий адрес придёт уведомление.
settings-password = Пароль
settings-change-password = Сменить пароль
settings-password-hint = Смена пароля завершает сеансы на всех других устройствах.
settings-security = Сеансы и безопасность
settings-sessions-link = Где выполнен вход, и последние события безопасности
settings-providers = Службы входа
settings-no-provider = Службы не привязаны.
settings-reauth = войдите через неё снова, чтобы обновить доступ
settings-unlink = Отвязать
settings-link = Привязать { $provider }
theme-light = светлая
theme-dark = тёмная
theme-system = как в системе

sessions-title = Сеансы
sessions-heading = Где выполнен вход
sessions-device = Устройство
sessions-ip = IP
sessions-signed-in = Вход
sessions-last-seen = Последняя активность
sessions-this-device = (это устройство)
sessions-sign-out = Выйти
sessions-revoke = Завершить
sessions-revoke-others = Выйти на всех других устройствах
sessions-events = Последние события безопасности
sessions-nothing = Пока ничего.

admin = Администрирование
admin-users-title = Пользователи
admin-audit-link = Журнал аудита
admin-search = Поиск по почте или имени
admin-search-submit = Найти
admin-users-count = Пользователей: { $count }.
admin-sort-by = Сортировать по
admin-sort-created = дате создания
admin-sort-last-seen = последней активности
admin-col-name = Имя
admin-col-email = Почта
admin-col-role = Роль
admin-col-plan = Тариф
admin-col-created = Создан
admin-col-last-seen = Последняя активность
admin-banned = заблокирован
admin-page = Страница { $page } из { $pages }
admin-previous = Назад
admin-next = Вперёд
admin-all-users = Все пользователи
admin-created = создан
admin-last-seen = последняя активность
admin-banned-status = Заблокирован
admin-banned-until = до
admin-role-heading = Роль, права, тариф
admin-role = Роль
admin-permissions = Права (через запятую)
admin-plan = Тариф
admin-plan-ends = Тариф до (RFC 3339, пусто: бессрочно)
admin-save = Сохранить
admin-ban = Блокировка
admin-unban = Разблокировать
admin-reason = Причина
admin-ban-until = До (RFC 3339, пусто: бессрочно)
admin-ban-submit = Заблокировать и завершить все сеансы
admin-support = Поддержка
admin-impersonate = Действовать как этот пользователь
admin-impersonate-hint = Вы увидите то же, что и пользователь, с уведомлением и способом вернуться. Это записывается в журнал аудита.
admin-sessions = Сеансы
admin-revoke = Завершить
admin-revoke-all = Завершить все сеансы
admin-recent-events = Последние события
admin-user-events = Все события этого пользователя
admin-saved = Сохранено: { $what }.

audit-title = Журнал аудита
audit-user = ID пользователя
audit-actions = Действия
audit-from = С (RFC 3339)
audit-to = По (RFC 3339)
audit-filter = Отфильтровать
audit-count = Событий: { $count }.
audit-col-time = Время
audit-col-action = Действие
audit-col-actor = Кто
audit-col-target = Над кем
audit-col-ip = IP
audit-col-details = Подробности
audit-system = система

error-back-home = На главную

live-role = Ваша роль теперь { $role }. Некоторые страницы могли измениться; обновите их, чтобы увидеть.
live-plan = Ваш тариф теперь { $plan }.

## Two factors (TOTP, recovery codes)
settings-security-link = Двухфакторный вход и коды восстановления
security-title = Безопасность входа
two-factor-heading = Двухфакторный вход
two-factor-on = Двухфакторный вход включён: при входе запрашивается код из приложения-аутентификатора.
two-factor-off = Двухфакторный вход выключен. Включите его, чтобы после пароля запрашивался код из приложения-аутентификатора.
two-factor-recovery-left = Неиспользованных кодов восстановления: { $count }
two-factor-new-codes = Создать новые коды восстановления
two-factor-turn-off = Выключить двухфакторный вход
two-factor-set-up = Настроить двухфакторный вход
two-factor-disabled-notice = Двухфакторный вход выключен.
two-factor-setup-title = Настройка двухфакторного входа
two-factor-setup-scan = Отсканируйте этот QR-код приложением-аутентификатором (например, Aegis, Google Authenticator или 1Password).
two-factor-qr-label = QR-код ссылки для настройки
two-factor-setup-type = Или введите этот ключ в приложении:
two-factor-open-app = Открыть в приложении-аутентификаторе на этом устройстве
two-factor-turn-on = Включить
two-factor-cancel = Отмена
field-code = Код
two-factor-signin-title = Введите код
two-factor-signin-intro = Откройте приложение-аутентификатор и введите 6-значный код для этого сайта.
two-factor-code-hint = Нет телефона под рукой? Введите один из кодов восстановления.
two-factor-verify = Подтвердить
two-factor-signin-gone = Этот вход истёк или уже завершён. Войдите снова.
recovery-codes-title = Ваши коды восстановления
two-factor-enabled-notice = Двухфакторный вход включён.
recovery-codes-once = Сохраните эти коды в надёжном месте: каждый из них один раз выполнит вход, если вы потеряете аутентификатор. Они показываются только сейчас.
recovery-codes-done = Я их сохранил(а)
admin-two-factor-on = Этот пользователь входит со вторым фактором (приложение-аутентификатор).
admin-two-factor-reset = Сбросить двухфакторный вход (при потере телефона)
admin-two-factor-reset-notice = Двухфакторный вход сброшен: пользователь входит только по паролю, пока не включит его снова.

# Fresh sign-in (/reauth), sessions' authentication, account deletion (issue 12)
reauth-title = Подтвердите, что это вы
reauth-why = Для этого изменения нужен недавний вход. Подтвердите, что это вы, одним из способов ниже.
reauth-submit = Подтвердить
reauth-with-code = Или введите код из приложения-аутентификатора
reauth-with-password = С паролем
reauth-no-password = У вашей учётной записи нет пароля. Чтобы подтвердить, что это вы, войдите заново: через службу ниже или выйдите и войдите по ссылке из письма.
reauth-sign-out = Выйти, чтобы войти заново
sessions-authenticated = Последнее подтверждение
sessions-aal1 = один фактор (aal1)
sessions-aal2 = два фактора (aal2)
delete-heading = Удалить учётную запись
delete-explain = Будут удалены ваша учётная запись, сеансы на всех устройствах, привязанные службы и ключи доступа. Это нельзя отменить.
delete-type-email = Введите адрес электронной почты для подтверждения
delete-submit = Удалить мою учётную запись
home-deleted = Ваша учётная запись удалена.


## Passkeys (issue 12)
passkey-signin = Войти с ключом доступа
passkey-signin-working = Ожидание ключа доступа…
passkey-unsupported = Этот браузер не поддерживает ключи доступа. Войдите другим способом или воспользуйтесь браузером, который их поддерживает.
passkey-cancelled = Ключ доступа не был использован. Можно попробовать ещё раз.
passkey-failed = Ключ доступа не сработал. Попробуйте ещё раз.
passkey-rate-limited = Слишком много неудачных попыток входа с этого адреса. Подождите немного и попробуйте снова.
passkey-refused = Этой учётной записи вход запрещён.
passkeys-title = Ключи доступа
passkeys-intro = Ключ доступа позволяет войти с помощью блокировки экрана устройства или ключа безопасности — без пароля и без второго фактора.
passkeys-none = У вас пока нет ключей доступа.
passkeys-col-name = Название
passkeys-created = Добавлен
passkeys-last-used = Последнее использование
passkeys-never = никогда
passkeys-remove = Удалить
passkeys-name = Название (необязательно)
passkeys-add = Добавить ключ доступа
passkeys-add-working = Следуйте указаниям браузера, чтобы создать ключ доступа…
passkey-reauth = Подтвердить ключом доступа
