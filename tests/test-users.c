/* test-users.c: the account databases as text (vi-users), byte for byte. */
#include <string.h>

#include "vi-error.h"
#include "vi-users.h"

#define PASSWD "root:x:0:0:root:/root:/bin/bash\n" \
               "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" \
               "broken:x:notanumber:1000::/home/broken:/bin/sh\n" \
               "# a comment\n" \
               "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n" \
               "short:x:1002\n" \
               "carol:x:1001:1001::/home/carol:/bin/zsh\r\n"
#define GROUP "root:x:0:\n" \
              "adm:x:4:syslog\n" \
              "audio:x:29:\n" \
              "weird line without colons\n" \
              "alice:x:1000:\n" \
              "users:x:100:alice,carol\r\n" \
              "trailing:x:1003:"

/* ---- login.defs -------------------------------------------------------- */

typedef struct {
    const char *text;
    guint default_mode;
    ViLoginDefs want;
} DefsCase;

static const DefsCase defs_cases[] = {
    { NULL, 0700, { 1000, 60000, 1000, 60000, 0700 } },
    { "", 0750, { 1000, 60000, 1000, 60000, 0750 } },
    { "UID_MIN\t\t 500\nUID_MAX 999\nGID_MIN 600\nGID_MAX 900\nHOME_MODE 0750\n", 0700,
      { 500, 999, 600, 900, 0750 } },
    /* commented, malformed, out of range: the defaults */
    { "#UID_MIN 5\nUID_MIN\nUID_MIN x\nGID_MIN 0\nHOME_MODE 0999\nHOME_MODE 01777\n", 0700,
      { 1000, 60000, 1000, 60000, 0700 } },
    /* a min above its max: both defaults */
    { "UID_MIN 70000\nGID_MAX 10\n", 0700, { 1000, 60000, 1000, 60000, 0700 } },
    { "  UID_MIN 2000  \r\nUMASK 077\n", 0700, { 2000, 60000, 1000, 60000, 0700 } },
};

static void
test_login_defs (gconstpointer data)
{
    const DefsCase *c = data;
    ViLoginDefs got;

    vi_login_defs_parse (c->text, c->default_mode, &got);
    g_assert_cmpuint (got.uid_min, ==, c->want.uid_min);
    g_assert_cmpuint (got.uid_max, ==, c->want.uid_max);
    g_assert_cmpuint (got.gid_min, ==, c->want.gid_min);
    g_assert_cmpuint (got.gid_max, ==, c->want.gid_max);
    g_assert_cmpuint (got.home_mode, ==, c->want.home_mode);
}

/* ---- lookups ----------------------------------------------------------- */

static void
test_find_account (void)
{
    g_autoptr(ViAccount) a = NULL;
    g_autoptr(ViAccount) c = NULL;

    g_assert_cmpint (vi_users_find_account (PASSWD, "alice", &a), ==, VI_USERS_FOUND);
    g_assert_cmpstr (a->name, ==, "alice");
    g_assert_cmpuint (a->uid, ==, 1000);
    g_assert_cmpuint (a->gid, ==, 1000);
    g_assert_cmpstr (a->home, ==, "/home/alice");
    g_assert_cmpstr (a->shell, ==, "/bin/bash");
    /* CRLF: the "\r" is not part of the shell */
    g_assert_cmpint (vi_users_find_account (PASSWD, "carol", &c), ==, VI_USERS_FOUND);
    g_assert_cmpstr (c->shell, ==, "/bin/zsh");
    g_assert_cmpint (vi_users_find_account (PASSWD, "broken", NULL), ==, VI_USERS_MALFORMED);
    g_assert_cmpint (vi_users_find_account (PASSWD, "short", NULL), ==, VI_USERS_MALFORMED);
    g_assert_cmpint (vi_users_find_account (PASSWD, "bob", NULL), ==, VI_USERS_ABSENT);
    /* a prefix of a name is not the name */
    g_assert_cmpint (vi_users_find_account (PASSWD, "ali", NULL), ==, VI_USERS_ABSENT);
    g_assert_cmpint (vi_users_find_account ("", "root", NULL), ==, VI_USERS_ABSENT);
}

static void
test_find_group (void)
{
    guint32 gid = 0;

    g_assert_cmpint (vi_users_find_group (GROUP, "audio", &gid), ==, VI_USERS_FOUND);
    g_assert_cmpuint (gid, ==, 29);
    g_assert_cmpint (vi_users_find_group (GROUP, "users", &gid), ==, VI_USERS_FOUND);
    g_assert_cmpuint (gid, ==, 100);
    g_assert_cmpint (vi_users_find_group (GROUP, "trailing", &gid), ==, VI_USERS_FOUND);
    g_assert_cmpuint (gid, ==, 1003);
    g_assert_cmpint (vi_users_find_group ("bob:x:\n", "bob", NULL), ==, VI_USERS_MALFORMED);
    g_assert_cmpint (vi_users_find_group (GROUP, "weird", NULL), ==, VI_USERS_ABSENT);
    g_assert_cmpint (vi_users_find_group (GROUP, "bob", NULL), ==, VI_USERS_ABSENT);
    g_assert_true (vi_users_has_name (PASSWD, "broken"));
    g_assert_true (vi_users_has_name (PASSWD, "short"));
    g_assert_false (vi_users_has_name (PASSWD, "bob"));
}

/* ---- ids --------------------------------------------------------------- */

static void
test_ids (void)
{
    guint32 id = 0;

    g_assert_true (vi_users_id_taken (PASSWD, 0));
    g_assert_true (vi_users_id_taken (PASSWD, 1001));
    /* the id of a line too short to be an account still counts */
    g_assert_true (vi_users_id_taken (PASSWD, 1002));
    g_assert_false (vi_users_id_taken (PASSWD, 1003));
    g_assert_true (vi_users_id_taken (GROUP, 1003));

    /* 1000-1002 taken in passwd, 1003 in group */
    g_assert_true (vi_users_pick_id (PASSWD, GROUP, 1000, 60000, &id));
    g_assert_cmpuint (id, ==, 1004);
    g_assert_true (vi_users_pick_id (PASSWD, NULL, 1000, 60000, &id));
    g_assert_cmpuint (id, ==, 1003);
    /* a hole below the highest id is used */
    g_assert_true (vi_users_pick_id ("a:x:1000:1:::\nb:x:1002:1:::\n", NULL, 1000, 1005, &id));
    g_assert_cmpuint (id, ==, 1001);
    /* the range is full */
    g_assert_false (vi_users_pick_id (PASSWD, GROUP, 1000, 1003, &id));
    g_assert_cmpuint (id, ==, 1001);
    g_assert_true (vi_users_pick_id ("", NULL, G_MAXUINT32 - 1, G_MAXUINT32 - 1, &id));
    g_assert_cmpuint (id, ==, G_MAXUINT32 - 1);
}

/* ---- edits ------------------------------------------------------------- */

typedef struct {
    const char *text;
    const char *line;
    const char *want;
} AppendCase;

static const AppendCase append_cases[] = {
    { "", "bob:x:1500:1500::/home/bob:/bin/sh", "bob:x:1500:1500::/home/bob:/bin/sh\n" },
    { "root:x:0:0::/root:/bin/sh\n", "b:x:1:1:::", "root:x:0:0::/root:/bin/sh\nb:x:1:1:::\n" },
    /* no final newline: one is added before, nothing else changes */
    { "root:x:0:0::/root:/bin/sh", "b", "root:x:0:0::/root:/bin/sh\nb\n" },
    { "garbage\r\n\n#c", "b", "garbage\r\n\n#c\nb\n" },
};

static void
test_append (gconstpointer data)
{
    const AppendCase *c = data;
    g_autofree char *got = vi_users_append (c->text, c->line);

    g_assert_cmpstr (got, ==, c->want);
}

typedef struct {
    const char *text;
    const char *group;
    const char *user;
    gboolean found;
    const char *want;
} MemberCase;

static const MemberCase member_cases[] = {
    { GROUP, "audio", "bob", TRUE,
      "root:x:0:\nadm:x:4:syslog\naudio:x:29:bob\nweird line without colons\nalice:x:1000:\n"
      "users:x:100:alice,carol\r\ntrailing:x:1003:" },
    { GROUP, "adm", "bob", TRUE,
      "root:x:0:\nadm:x:4:syslog,bob\naudio:x:29:\nweird line without colons\nalice:x:1000:\n"
      "users:x:100:alice,carol\r\ntrailing:x:1003:" },
    /* CRLF kept; no final newline kept */
    { GROUP, "users", "bob", TRUE,
      "root:x:0:\nadm:x:4:syslog\naudio:x:29:\nweird line without colons\nalice:x:1000:\n"
      "users:x:100:alice,carol,bob\r\ntrailing:x:1003:" },
    { GROUP, "trailing", "bob", TRUE,
      "root:x:0:\nadm:x:4:syslog\naudio:x:29:\nweird line without colons\nalice:x:1000:\n"
      "users:x:100:alice,carol\r\ntrailing:x:1003:bob" },
    /* already a member: the same text */
    { GROUP, "users", "carol", TRUE, GROUP },
    { GROUP, "nosuch", "bob", FALSE, GROUP },
    { GROUP, "weird line without colons", "bob", FALSE, GROUP },
    /* gshadow: the members are the fourth field too, admins untouched */
    { "adm:*:root:syslog\naudio:*::\n", "audio", "bob", TRUE, "adm:*:root:syslog\naudio:*::bob\n" },
    { "adm:*:root:syslog\n", "adm", "bob", TRUE, "adm:*:root:syslog,bob\n" },
};

static void
test_add_member (gconstpointer data)
{
    const MemberCase *c = data;
    gboolean found = !c->found;
    g_autofree char *got = vi_users_add_member (c->text, c->group, c->user, &found);

    g_assert_cmpstr (got, ==, c->want);
    g_assert_cmpint (found, ==, c->found);
}

/* Removing is adding undone: each added member removed gives the text
 * back byte for byte; and a member in the middle, the only member, a
 * user who is not a member, a group that is not there. */
static void
test_remove_member (void)
{
    static const struct { const char *text, *group, *user, *want; } cases[] = {
        { "g:x:1:alice,bob,carol\n", "g", "bob", "g:x:1:alice,carol\n" },
        { "g:x:1:bob\r\nh:x:2:bob\n", "g", "bob", "g:x:1:\r\nh:x:2:bob\n" },
        { "g:x:1:alice\n", "g", "bob", "g:x:1:alice\n" },
        { "g:x:1:bob\n", "h", "bob", "g:x:1:bob\n" },
        { "adm:*:root:syslog,bob\n", "adm", "bob", "adm:*:root:syslog\n" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (member_cases); i++) {
        const MemberCase *c = &member_cases[i];
        g_autofree char *back = vi_users_remove_member (c->want, c->group, c->user);

        if (!g_str_equal (c->want, c->text))
            g_assert_cmpstr (back, ==, c->text);
    }
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *got = vi_users_remove_member (cases[i].text, cases[i].group, cases[i].user);

        g_assert_cmpstr (got, ==, cases[i].want);
    }
}

/* ---- shells, sudoers --------------------------------------------------- */

static void
test_shells (void)
{
    const char *shells = "# /etc/shells: valid login shells\n/bin/sh\n  /bin/bash  \n#/bin/zsh\n";

    g_assert_true (vi_users_shell_listed (shells, "/bin/sh"));
    g_assert_true (vi_users_shell_listed (shells, "/bin/bash"));
    g_assert_false (vi_users_shell_listed (shells, "/bin/zsh"));
    g_assert_false (vi_users_shell_listed (shells, "/bin/ba"));
    g_assert_false (vi_users_shell_listed ("", "/bin/sh"));
}

static void
test_sudoers (void)
{
    g_autofree char *rule = vi_users_sudoers_rule ("bob", FALSE);
    g_autofree char *nopw = vi_users_sudoers_rule ("bob", TRUE);

    g_assert_cmpstr (rule, ==, "bob ALL=(ALL:ALL) ALL\n");
    g_assert_cmpstr (nopw, ==, "bob ALL=(ALL:ALL) NOPASSWD: ALL\n");
    g_assert_true (vi_users_sudoers_includes_dir ("Defaults env_reset\n\n@includedir /etc/sudoers.d\n"));
    g_assert_true (vi_users_sudoers_includes_dir ("#includedir\t/etc/sudoers.d"));
    g_assert_false (vi_users_sudoers_includes_dir ("# @includedir /etc/sudoers.d\n"));
    g_assert_false (vi_users_sudoers_includes_dir ("@includedir /etc/sudoers.d.old\n"));
    g_assert_false (vi_users_sudoers_includes_dir ("@include /etc/sudoers.d\n\n"));
    g_assert_false (vi_users_sudoers_includes_dir (""));
}

/* ---- login names ------------------------------------------------------- */

typedef struct {
    const char *name;
    gboolean valid;
} NameCase;

static const NameCase name_cases[] = {
    { "bob", TRUE }, { "_apt", TRUE }, { "web-1", TRUE }, { "j.doe", TRUE }, { "smb$", TRUE },
    { "abcdefghijklmnopqrstuvwxyz012345", TRUE },
    { "abcdefghijklmnopqrstuvwxyz0123456", FALSE },
    { "", FALSE }, { "Bob", FALSE }, { "1bob", FALSE }, { "-bob", FALSE }, { ".bob", FALSE },
    { "bo b", FALSE }, { "bo:b", FALSE }, { "bo/b", FALSE }, { "bo$b", FALSE }, { "bé", FALSE },
    { "root\n", FALSE },
};

static void
test_login_name (gconstpointer data)
{
    const NameCase *c = data;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint (vi_users_check_login_name (c->name, &error), ==, c->valid);
    if (c->valid)
        g_assert_no_error (error);
    else
        g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);

    for (guint i = 0; i < G_N_ELEMENTS (defs_cases); i++) {
        g_autofree char *p = g_strdup_printf ("/users/login-defs/%u", i);
        g_test_add_data_func (p, &defs_cases[i], test_login_defs);
    }
    g_test_add_func ("/users/find-account", test_find_account);
    g_test_add_func ("/users/find-group", test_find_group);
    g_test_add_func ("/users/ids", test_ids);
    for (guint i = 0; i < G_N_ELEMENTS (append_cases); i++) {
        g_autofree char *p = g_strdup_printf ("/users/append/%u", i);
        g_test_add_data_func (p, &append_cases[i], test_append);
    }
    for (guint i = 0; i < G_N_ELEMENTS (member_cases); i++) {
        g_autofree char *p = g_strdup_printf ("/users/add-member/%u", i);
        g_test_add_data_func (p, &member_cases[i], test_add_member);
    }
    g_test_add_func ("/users/remove-member", test_remove_member);
    g_test_add_func ("/users/shells", test_shells);
    g_test_add_func ("/users/sudoers", test_sudoers);
    for (guint i = 0; i < G_N_ELEMENTS (name_cases); i++) {
        g_autofree char *p = g_strdup_printf ("/users/login-name/%u", i);
        g_test_add_data_func (p, &name_cases[i], test_login_name);
    }
    return g_test_run ();
}
