/* vi-users.h: the account databases of a guest, as text.
 *
 * Pure functions on the text of /etc/passwd, /etc/shadow, /etc/group,
 * /etc/gshadow, /etc/login.defs, /etc/shells and /etc/sudoers: nothing here
 * reads or writes a file (the planner, vi-inject.c, does that through the
 * VFS).  The texts come from the guest and are hostile: a line that is not
 * a well-formed entry is never trusted for a lookup, and every edit keeps
 * every other line byte for byte, malformed ones included.  A name found
 * only on a malformed line is reported as such, so that an account is never
 * added twice.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What /etc/login.defs says about new accounts. */
typedef struct {
    guint32 uid_min;            /* UID_MIN, default 1000 */
    guint32 uid_max;            /* UID_MAX, default 60000 */
    guint32 gid_min;            /* GID_MIN, default 1000 */
    guint32 gid_max;            /* GID_MAX, default 60000 */
    guint home_mode;            /* HOME_MODE, else the caller's default */
} ViLoginDefs;

/**
 * vi_login_defs_parse:
 * @text: (nullable): the guest's login.defs, %NULL when it has none
 * @default_home_mode: the mode of a new home when HOME_MODE is not set
 * @out: filled; a value that does not parse (or a min above its max, or a
 *   min of 0) leaves the default
 */
void vi_login_defs_parse (const char *text, guint default_home_mode, ViLoginDefs *out);

/* One /etc/passwd entry. */
typedef struct {
    char *name;
    guint32 uid;
    guint32 gid;
    char *home;                 /* field 6 as written */
    char *shell;                /* field 7 as written */
} ViAccount;

void vi_account_free (ViAccount *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViAccount, vi_account_free)

typedef enum {
    VI_USERS_ABSENT,            /* no line names it */
    VI_USERS_FOUND,             /* a well-formed line names it */
    VI_USERS_MALFORMED,         /* only a malformed line names it */
} ViUsersLookup;

/**
 * vi_users_find_account:
 * @passwd: the text of /etc/passwd
 * @out: (out) (optional): the entry when %VI_USERS_FOUND (transfer full)
 */
ViUsersLookup vi_users_find_account (const char *passwd, const char *name, ViAccount **out);

/**
 * vi_users_find_group:
 * @group: the text of /etc/group
 * @name: a group name
 * @out_gid: (out) (optional): its gid when %VI_USERS_FOUND
 */
ViUsersLookup vi_users_find_group (const char *group, const char *name, guint32 *out_gid);

/**
 * vi_users_has_name:
 * Returns: whether a line of @text (any of the databases: the name is the
 * first field) names @name, well-formed or not.
 */
gboolean vi_users_has_name (const char *text, const char *name);

/**
 * vi_users_id_taken:
 * @text: /etc/passwd or /etc/group
 * Returns: whether a well-formed line has id @id in its third field.
 */
gboolean vi_users_id_taken (const char *text, guint32 id);

/**
 * vi_users_pick_id:
 * @a: the text whose third fields are ids (passwd or group)
 * @b: (nullable): a second one that must be free of the id too (group,
 *   for a uid that also names the user's private group)
 * Returns: %TRUE with the lowest id of [@min, @max] taken in neither,
 *   %FALSE when the range is full.
 */
gboolean vi_users_pick_id (const char *a, const char *b, guint32 min, guint32 max, guint32 *out_id);

/**
 * vi_users_append:
 * Returns: (transfer full): @text with @line and a newline appended (after
 * a newline of its own when its last line has none).
 */
char *vi_users_append (const char *text, const char *line);

/**
 * vi_users_add_member:
 * @text: /etc/group or /etc/gshadow (the members are the fourth field of both)
 * @group: the group's name
 * @user: the member to add
 * @out_found: (out): whether @group has a well-formed line
 * Returns: (transfer full): @text with @user added to the member list of
 * @group (unchanged when already a member or the group is absent).
 */
char *vi_users_add_member (const char *text, const char *group, const char *user,
                           gboolean *out_found);

/**
 * vi_users_remove_member:
 * Returns: (transfer full): @text with every occurrence of @user removed
 * from the member list of @group (unchanged when not a member, or the
 * group is absent); every other byte kept.
 */
char *vi_users_remove_member (const char *text, const char *group, const char *user);

/**
 * vi_users_shell_listed:
 * Returns: whether @shell is a line of @shells (/etc/shells; comments and
 * surrounding blanks ignored).
 */
gboolean vi_users_shell_listed (const char *shells, const char *shell);

/**
 * vi_users_sudoers_includes_dir:
 * Returns: whether @sudoers reads /etc/sudoers.d (an "@includedir" or
 * "#includedir" line naming it).
 */
gboolean vi_users_sudoers_includes_dir (const char *sudoers);

/**
 * vi_users_sudoers_rule:
 * Returns: (transfer full): the drop-in of sudoers.d that lets @name run
 * anything as anyone: "NAME ALL=(ALL:ALL) ALL\n", with "NOPASSWD: " before
 * the last ALL when @nopasswd.
 */
char *vi_users_sudoers_rule (const char *name, gboolean nopasswd);

/**
 * vi_users_check_login_name:
 * A name useradd accepts on every distribution: a lower-case letter or '_'
 * first, then lower-case letters, digits, '_', '-' and '.', an optional
 * '$' at the end, at most 32 bytes.
 * Returns: %TRUE, or %FALSE with VI_ERROR_INVALID saying why.
 */
gboolean vi_users_check_login_name (const char *name, GError **error);

G_END_DECLS
