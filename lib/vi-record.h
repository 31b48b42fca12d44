/* vi-record.h: the record an injection leaves in the guest.
 *
 * /var/lib/virt-inject/record.json (directory 0700, file 0600, root) says
 * which request was applied to which domain (the domain UUID and the keyed
 * request digest, vi_request_digest()) and, for every path, what
 * virt-inject did there: a file it created, a file it replaced (the
 * original kept under /var/lib/virt-inject/orig/), a file it edited, a
 * directory it created, the mode and owner it changed.  A host whose
 * run-once ledger misses (after a migration) reads it to learn that the
 * guest already carries the request; a later request can take back what a
 * dropped item added.
 *
 * The record is guest data, so it is parsed as hostile input: at most
 * VI_RECORD_MAX bytes, one known version, only known members of the right
 * types, every path checked like a request's path (vi_check_guest_path),
 * each path once, saved originals named only "orig/" + 64 hex digits.
 * Anything else makes vi_record_parse() fail, and its callers treat the
 * record as absent.
 *
 * Pure data and bytes: no VFS here (vi-inject reads and writes it).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VI_RECORD_DIR "/var/lib/virt-inject"
#define VI_RECORD_PATH VI_RECORD_DIR "/record.json"
#define VI_RECORD_ORIG_DIR VI_RECORD_DIR "/orig"
#define VI_RECORD_VERSION 1
/* The record's size cap, read and written: 4096 items (the request's
 * default item cap) with long paths fit. */
#define VI_RECORD_MAX (1024u * 1024)
/* The largest original a replacement keeps; a larger one is recorded
 * (attributes, size) but not kept. */
#define VI_RECORD_ORIG_MAX (1024u * 1024)
/* Items a record may hold (four times the request's default item cap). */
#define VI_RECORD_ITEMS_MAX 16384

typedef enum {
    VI_RECORD_FILE_CREATED,     /* did not exist: taking it back is removing it */
    VI_RECORD_FILE_REPLACED,    /* existed, replaced whole: original kept if it fit */
    VI_RECORD_FILE_EDITED,      /* existed, edited (shadow, hosts, authorized_keys...) */
    VI_RECORD_DIR_CREATED,      /* did not exist */
    VI_RECORD_ATTR_CHANGED,     /* existed: mode and owner changed */
    VI_RECORD_KIND_LAST
} ViRecordKind;

const char *vi_record_kind_to_string (ViRecordKind kind);

/**
 * ViRecordOriginal:
 * What was at the path before virt-inject first changed it (replaced,
 * attribute and, in part, edited items).  @sha256 and @saved only for a
 * regular file that was kept (@saved: "orig/HEX", relative to
 * VI_RECORD_DIR): a replaced file, an edited one whose edit did more than
 * add lines (an interfaces file the network configuration neutralised),
 * /etc/shadow (its password fields are put back from it).
 */
typedef struct {
    guint mode;
    guint32 uid;
    guint32 gid;
    gboolean symlink;           /* the path was a symlink (never followed, never kept) */
    guint64 size;
    char *sha256;               /* (nullable) */
    char *saved;                /* (nullable) */
} ViRecordOriginal;

typedef struct {
    ViRecordKind kind;
    char *path;
    guint mode;                 /* what virt-inject set */
    guint32 uid;
    guint32 gid;
    ViRecordOriginal orig;      /* FILE_REPLACED, ATTR_CHANGED; FILE_EDITED when kept */
    char *written_sha256;       /* (nullable) FILE_CREATED, FILE_REPLACED: what virt-inject
                                 * last wrote there (absent in older records: such a
                                 * file is never taken back, it may have changed) */
    char *before_sha256;        /* FILE_EDITED */
    char *after_sha256;         /* FILE_EDITED */
    GStrv lines_added;          /* (nullable) FILE_EDITED when the edit only added lines;
                                 * FILE_CREATED: the lines of a line file (authorized_keys) */
    GStrv passwords_set;        /* (nullable) /etc/shadow: "USER:HEX64", the SHA-256 of the
                                 * password field virt-inject last set for USER */
    GStrv members_added;        /* (nullable) /etc/group, /etc/gshadow: "GROUP:USER", each
                                 * membership virt-inject added */
} ViRecordItem;

void vi_record_item_free (ViRecordItem *item);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViRecordItem, vi_record_item_free)

typedef struct {
    char *uuid;                 /* (nullable) the domain's; none for a bare image */
    char *digest;               /* (nullable) the keyed request digest */
    GPtrArray *items;           /* (element-type ViRecordItem) in the order first done */
    GHashTable *by_path;        /* path -> ViRecordItem* of @items (vi_record_add keeps it) */
} ViRecord;

/**
 * ViRecordKey:
 * What an injection writes into the record beside the domain's UUID
 * (ViInjectOptions.domain_uuid), and checks it against:
 * @digest: (nullable) the keyed request digest (vi_request_digest())
 * @once: policy "once": a valid record of this domain and @digest means the
 *   guest already carries the request, and nothing is applied
 */
typedef struct {
    const char *digest;
    gboolean once;
} ViRecordKey;

/** vi_record_new: an empty record of @uuid and @digest (both nullable). */
ViRecord *vi_record_new (const char *uuid, const char *digest);
void vi_record_free (ViRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViRecord, vi_record_free)

/** vi_record_lookup: the item of @path, or %NULL. */
ViRecordItem *vi_record_lookup (const ViRecord *record, const char *path);

/**
 * vi_record_add:
 * Appends @item (transfer full) unless @record already has an item for its
 * path: what virt-inject did first to a path is what can be taken back, so
 * the earlier item stays and @item is freed.
 */
void vi_record_add (ViRecord *record, ViRecordItem *item);

/**
 * vi_record_pair_value:
 * @pairs: (nullable): "KEY:VALUE" strings (passwords_set, members_added)
 * Returns: (nullable): the VALUE of @key in @pairs (no copy), or %NULL.
 */
const char *vi_record_pair_value (const char *const *pairs, const char *key);

/** vi_record_saved_name: "orig/" + SHA-256 of @path, where its original is kept. */
char *vi_record_saved_name (const char *path);

/**
 * vi_record_lines_added:
 * Returns: (transfer full) (nullable): the lines of @after that are not in
 * @before, when @after is @before with lines inserted (every line of
 * @before kept, in order); %NULL when the edit changed or removed a line.
 */
GStrv vi_record_lines_added (const char *before, gsize before_len, const char *after,
                             gsize after_len);

/**
 * vi_record_format:
 * Returns: (transfer full): the JSON document, pretty-printed, ending with
 * a newline; the same bytes for the same record (no time in it).
 */
GBytes *vi_record_format (const ViRecord *record);

/**
 * vi_record_parse:
 * Reads @data as hostile input (see the top of this file).
 * Returns: (transfer full): the record, or %NULL with VI_ERROR_GUEST
 * saying what is wrong (for the plan's note).
 */
ViRecord *vi_record_parse (GBytes *data, GError **error);

G_END_DECLS
