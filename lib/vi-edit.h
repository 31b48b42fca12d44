/* vi-edit.h: the edits of guest text files, as pure functions on text.
 *
 * Each takes the text of a guest file as read (or %NULL when the guest has
 * no such file) and the request's values, and returns the new text; none
 * reads or writes anything.  vi-inject plans the reads and writes around
 * them.  Every edit keeps the lines it has no business with byte for byte,
 * and applying an edit to its own result gives that result again.  The
 * values are already checked (vi-check): no newline or ':' reaches a
 * shadow field, no newline an authorized_keys line.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * vi_edit_shadow_password:
 * @text: /etc/shadow
 * @user: the account
 * Returns: (transfer full) (nullable): field 2 (the password hash) of the
 * first line of @text that names @user and has at least three fields, or
 * %NULL when there is none.
 */
char *vi_edit_shadow_password (const char *text, const char *user);

/**
 * vi_edit_shadow_field:
 * Returns: (transfer full) (nullable): field @n (from 0) of the line
 * vi_edit_shadow_password() reads, or %NULL when there is none.
 */
char *vi_edit_shadow_field (const char *text, const char *user, guint n);

/**
 * vi_edit_shadow_set_password:
 * @text: /etc/shadow
 * @field: the new field 2 of @user's line
 * @today: the new field 3 (last change, days since the epoch)
 *
 * On the line vi_edit_shadow_password() reads, sets field 2 to @field and
 * field 3 to @today, unless field 2 already is @field (then the text is
 * returned unchanged).  Every other line and field, and whether the text
 * ends with a newline, are kept.
 * Returns: (transfer full): the new text, or %NULL with VI_ERROR_GUEST when
 * @user has no line.
 */
char *vi_edit_shadow_set_password (const char *text, const char *user, const char *field,
                                   const char *today, GError **error);

/**
 * vi_edit_shadow_expire:
 * @text: /etc/shadow
 * @user: the account
 * Returns: (transfer full) (nullable): @text with field 8 (the account's
 * expiry day) of @user's line set to 1 (1970-01-02: expired, the account
 * and its files kept), every other byte kept; @text itself when the
 * field is already set (the owner's choice stays) or the line does not
 * have nine fields; %NULL when @user has no line.
 */
char *vi_edit_shadow_expire (const char *text, const char *user);

/**
 * vi_edit_shadow_lock:
 * Returns: (transfer full): the password field @field locked: a leading '!'
 * added unless there is one already.
 */
char *vi_edit_shadow_lock (const char *field);

/**
 * vi_edit_hostname:
 * Returns: (transfer full): the text of /etc/hostname for @name (the name
 * exactly as given, a FQDN stays a FQDN, and a newline).
 */
char *vi_edit_hostname (const char *name);

/**
 * vi_edit_hosts:
 * @hosts: (nullable): /etc/hosts, or %NULL when the guest has none (then
 *   "127.0.0.1\tlocalhost" is assumed)
 * @hostname: the FQDN or short name
 *
 * Maps 127.0.1.1 to @hostname and its short name (the part before the
 * first '.', when there is one).  Every 127.0.1.1 line goes; the one line
 * of ours is put right after the last 127.0.0.1 line (where Debian puts
 * it), or where the first 127.0.1.1 line was when that comes before or
 * right after it, or first when there is no 127.0.0.1 line.  Only lines
 * whose address is followed by a blank count ("127.0.1.10" does not).  A
 * final empty line is dropped; every line ends with a newline.
 * Returns: (transfer full): the new text.
 */
char *vi_edit_hosts (const char *hosts, const char *hostname);

/**
 * vi_edit_authorized_keys:
 * @old: (nullable): authorized_keys as read (@len bytes), or %NULL when
 *   there is none
 * @keys: (array length=n_keys): checked key lines
 *
 * Keeps @old and its order, ends it with a newline, and appends each key
 * of @keys whose type and key data are not there yet (in @old, or earlier
 * in @keys); a commented-out key does not count, and a line without a key
 * type is never added.
 * Returns: (transfer full): the new text.
 */
char *vi_edit_authorized_keys (const char *old, gsize len, const char *const *keys, guint n_keys);

/**
 * vi_edit_take_back_lines:
 * @text: a guest text file (authorized_keys, hosts)
 * @lines: the lines an earlier injection added (the guest record's)
 * @keep: (array length=n_keep) (nullable): key lines still requested: a
 *   line of @lines with the type and key data of one of them stays
 * @out_removed: (out) (optional): the lines removed, in their order in @text
 *
 * Removes from @text every line equal to one of @lines, byte for byte,
 * unless @keep still asks for it; every other line (the guest's own, and
 * the added lines its owner edited) stays, in its order.
 * Returns: (transfer full): the new text (@text itself when nothing is
 * removed).
 */
char *vi_edit_take_back_lines (const char *text, const char *const *lines,
                               const char *const *keep, guint n_keep, GStrv *out_removed);

/**
 * vi_edit_ifupdown_strip_block:
 * Returns: (transfer full): @text without the lines from VI_NET_BLOCK_BEGIN
 * to VI_NET_BLOCK_END (the busybox stanzas of an earlier run), a final
 * empty line dropped, every line ended by a newline; or %NULL with
 * VI_ERROR_GUEST when a block has no end.
 */
char *vi_edit_ifupdown_strip_block (const char *text, GError **error);

/**
 * vi_edit_ifupdown_append_block:
 * Returns: (transfer full): @text (a newline added when it lacks one),
 * then @block between VI_NET_BLOCK_BEGIN and VI_NET_BLOCK_END lines.
 * @block is empty or ends with a newline.
 */
char *vi_edit_ifupdown_append_block (const char *text, const char *block);

/**
 * vi_edit_ifupdown_append_source:
 * Returns: (transfer full): @text (a newline added when it lacks one), then
 * VI_NET_MARK_ADDED and "source /etc/network/interfaces.d/virt-inject-*".
 */
char *vi_edit_ifupdown_append_source (const char *text);

/**
 * vi_edit_resolv_conf:
 * @text: (nullable): /etc/resolv.conf, or %NULL when there is none (or it
 *   is a symlink, which is replaced, never followed)
 * @ours: our "search DOMAIN..." line (vi_net_search()), then our
 *   "nameserver ADDRESS" lines (vi_net_nameservers()); either may be absent
 *
 * Drops the nameserver lines of @text (leading blanks allowed) when @ours
 * has nameservers, its search and domain lines when @ours has a search
 * line, keeps the others (options, comments...) each ended by a newline,
 * and appends @ours.
 * Returns: (transfer full): the new text.
 */
char *vi_edit_resolv_conf (const char *text, const char *ours);

G_END_DECLS
